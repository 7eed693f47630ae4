"""inbox versions

Revision ID: 7c1e2a9b4d10
Revises: f4434d2e8b65
Create Date: 2026-11-26 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c1e2a9b4d10"
down_revision: str | None = "f4434d2e8b65"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # empty at first: an inbox with no row is at version 0, and the API's cache starts empty with each process
    op.create_table(
        "inbox_versions",
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("party_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("role", "party_id", name=op.f("pk_inbox_versions")),
    )


def downgrade() -> None:
    op.drop_table("inbox_versions")
