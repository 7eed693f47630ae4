"""tax identifiers outside VAT and bank details by country

Revision ID: 5b7d3e9a1c42
Revises: a2cbeca159fe
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b7d3e9a1c42"
down_revision: str | None = "a2cbeca159fe"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("organisations", sa.Column("tax_id", sa.String(length=32), nullable=True))
    with op.batch_alter_table("experts") as batch:
        batch.add_column(sa.Column("tax_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("bic", sa.String(length=11), nullable=True))
        batch.add_column(sa.Column("account_number", sa.String(length=34), nullable=True))
        batch.add_column(sa.Column("aba_routing", sa.String(length=9), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("experts") as batch:
        for column in ("aba_routing", "account_number", "bic", "tax_id"):
            batch.drop_column(column)
    op.drop_column("organisations", "tax_id")
