"""timeline events name the expert they concern

Revision ID: a2cbeca159fe
Revises: 88b5a516239b
Create Date: 2026-12-04 04:00:00
"""

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "a2cbeca159fe"
down_revision: str | None = "88b5a516239b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy of domain.visibility.CANDIDATE_EVENTS as it was when this migration was written.
_CANDIDATE_EVENTS = {
    "expert_invited",
    "expert_joined",
    "invitation_accepted",
    "invitation_declined",
    "invitation_expired",
    "invitation_withdrawn",
    "proposal_submitted",
    "proposal_withdrawn",
    "expert_reassigned",
}

_events = sa.table(
    "timeline_events",
    sa.column("id", sa.Uuid()),
    sa.column("mission_id", sa.Uuid()),
    sa.column("workflow_id", sa.String()),
    sa.column("seq", sa.Integer()),
    sa.column("at", sa.DateTime()),
    sa.column("kind", sa.String()),
    sa.column("summary", sa.Text()),
    sa.column("details", sa.JSON()),
    sa.column("actor_user_id", sa.Uuid()),
    sa.column("expert_id", sa.Uuid()),
)
_missions = sa.table("missions", sa.column("id", sa.Uuid()), sa.column("selected_expert_id", sa.Uuid()))
_users = sa.table("users", sa.column("id", sa.Uuid()), sa.column("expert_id", sa.Uuid()))


def upgrade() -> None:
    with op.batch_alter_table("timeline_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expert_id", sa.Uuid(), nullable=True))
    _backfill(op.get_bind())
    # the materialised details are rebuilt from the tables (on read, and whole at the next event of each mission)
    op.execute(sa.text("UPDATE missions SET detail = NULL"))


def _uuid(text: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(text))
    except ValueError:
        return None


def _backfill(conn: sa.Connection) -> None:
    """Name the expert of the events stored so far, from what the rows kept: a candidate event by its summary (an
    invitation's), its details or its author; an event of the contract (after the selection, or of a milestone) by
    the mission's contractor. A candidate event it cannot attribute stays unnamed: no expert sees it."""
    users = conn.execute(sa.select(_users.c.id, _users.c.expert_id).where(_users.c.expert_id.isnot(None)))
    expert_of_user = {user_id: expert_id for user_id, expert_id in users}
    contractor = {m: e for m, e in conn.execute(sa.select(_missions.c.id, _missions.c.selected_expert_id))}
    rows = conn.execute(
        sa.select(_events).order_by(_events.c.mission_id, _events.c.at, _events.c.workflow_id, _events.c.seq)
    ).all()
    selected_since: dict[Any, Any] = {}
    for row in rows:
        details = row.details or {}
        if row.kind == "stage:contract" and row.mission_id not in selected_since:
            selected_since[row.mission_id] = row.at
        if row.kind in _CANDIDATE_EVENTS:
            expert = _uuid(details.get("from") or details.get("expert_id") or row.summary) or expert_of_user.get(
                row.actor_user_id
            )
        elif details.get("expert_id"):
            expert = _uuid(details["expert_id"])
        elif ":milestone:" in row.workflow_id or row.mission_id in selected_since:
            expert = contractor.get(row.mission_id)
        else:
            expert = None
        if expert is not None:
            conn.execute(_events.update().where(_events.c.id == row.id).values(expert_id=expert))


def downgrade() -> None:
    with op.batch_alter_table("timeline_events", schema=None) as batch_op:
        batch_op.drop_column("expert_id")
