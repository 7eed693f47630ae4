"""legal_data_versions: the versions of a party's legal data, one per ops edit (issue 19)

Revision ID: d7a1c95e3b20
Revises: 2ef8fbd1c8fc
Create Date: 2026-12-04 07:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.base

revision: str = "d7a1c95e3b20"
down_revision: str | None = "2ef8fbd1c8fc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "legal_data_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("party", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("changed", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by_user_id", sa.Uuid(), nullable=True),
        sa.Column("at", store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["by_user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("party", "version"),
    )
    op.create_index(op.f("ix_legal_data_versions_party"), "legal_data_versions", ["party"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_legal_data_versions_party"), table_name="legal_data_versions")
    op.drop_table("legal_data_versions")
