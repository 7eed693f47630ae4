"""organisation roles: members' roles, invitations of colleagues, the approval threshold

Revision ID: c41d7e2b9a55
Revises: 2ef8fbd1c8fc
Create Date: 2026-12-04 07:20:00

Every client account that exists is its organisation's admin (the first registrant of an organisation is its
admin; until now there was no other role).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.base

revision: str = "c41d7e2b9a55"
down_revision: str | None = "2ef8fbd1c8fc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "org_invitations",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("org_role", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_org_invitations_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"], ["users.id"], name=op.f("fk_org_invitations_invited_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_org_invitations_token_hash")),
    )
    with op.batch_alter_table("org_invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_org_invitations_organisation_id"), ["organisation_id"], unique=False)

    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approval_threshold", sa.Numeric(precision=14, scale=2), nullable=True))
        batch_op.add_column(sa.Column("approval_currency", sa.String(length=3), nullable=True))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("org_role", sa.String(length=16), nullable=True))

    # backfill: every client account is the admin of its organisation
    op.execute("UPDATE users SET org_role = 'admin' WHERE role = 'client'")


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("org_role")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("approval_currency")
        batch_op.drop_column("approval_threshold")
    with op.batch_alter_table("org_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_org_invitations_organisation_id"))
    op.drop_table("org_invitations")
