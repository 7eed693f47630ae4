"""contract amendments: a mission has its contract and, after a reassignment, its numbered amendments

Revision ID: 5b2e9d0c7a14
Revises: c41d7e2b9a55
Create Date: 2026-12-04 10:30:00

Every existing contract is its mission's contract (amendment 0).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b2e9d0c7a14"
down_revision: str | None = "c41d7e2b9a55"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("amendment", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("amends_id", sa.Uuid(), nullable=True))
        batch_op.drop_constraint("uq_contracts_mission_id", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_contracts_mission_id"), ["mission_id", "amendment"])
        batch_op.create_index(batch_op.f("ix_contracts_mission_id"), ["mission_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_contracts_amends_id_contracts"), "contracts", ["amends_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_contracts_amends_id_contracts"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_contracts_mission_id"))
        batch_op.drop_constraint(batch_op.f("uq_contracts_mission_id"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_contracts_mission_id"), ["mission_id"])
        batch_op.drop_column("amends_id")
        batch_op.drop_column("amendment")
