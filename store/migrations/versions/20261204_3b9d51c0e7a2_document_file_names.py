"""document file names: an upload keeps its sender's (cleaned) name; media types of OOXML formats fit

Revision ID: 3b9d51c0e7a2
Revises: 5b7d3e9a1c42
Create Date: 2026-12-04 04:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3b9d51c0e7a2"
down_revision: str | None = "5b7d3e9a1c42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_name", sa.String(length=160), nullable=True))
        batch_op.alter_column(
            "media_type", existing_type=sa.String(length=64), type_=sa.String(length=80), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.alter_column(
            "media_type", existing_type=sa.String(length=80), type_=sa.String(length=64), existing_nullable=False
        )
        batch_op.drop_column("file_name")
