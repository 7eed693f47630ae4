"""experts.revision: +1 at every update of the row, so the matching directory cache sees any committed change

Revision ID: c41d2e8f7a63
Revises: f3688719ba06
Create Date: 2026-12-04 07:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c41d2e8f7a63"
down_revision: str | None = "f3688719ba06"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("experts") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("experts") as batch:
        batch.drop_column("revision")
