"""Read models projected by the mission workflows: what the API lists (missions, timelines, inboxes).

Every row is written by an activity keyed by (workflow id, event sequence number) or (workflow id, key), so a
retried or replayed projection never duplicates anything (unique constraints, insert-or-ignore, upsert).
Temporal stays authoritative for "what happens next"; these tables can be rebuilt from it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, IdMixin, utcnow


class MissionRecord(Base):
    """One row per mission: the list views of clients, experts and ops."""

    __tablename__ = "missions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, doc="the mission id (business key)")
    workflow_id: Mapped[str] = mapped_column(String(120), unique=True)
    client_org_id: Mapped[uuid.UUID] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(String(200))
    business_function: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(32), index=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    selected_expert_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    next_deadline: Mapped[datetime | None]
    closed_reason: Mapped[str | None] = mapped_column(Text)
    last_seq: Mapped[int] = mapped_column(Integer, default=0, doc="projection order guard")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # deferred: only the detail view reads it (store.access.visible_mission(with_detail=True)); lists, access checks
    # and actions load the row without decoding the mission's whole timeline
    detail: Mapped[dict[str, Any] | None] = mapped_column(
        JSON,
        deferred=True,
        doc="materialised detail view (timeline, milestones, open tasks), refreshed by each projection",
    )


class MissionExpert(IdMixin, Base):
    """Which experts take part in a mission and how far (for an expert's list of missions)."""

    __tablename__ = "mission_experts"
    __table_args__ = (UniqueConstraint("mission_id", "expert_id"),)

    mission_id: Mapped[uuid.UUID] = mapped_column(index=True)
    expert_id: Mapped[uuid.UUID] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), doc="invited|accepted|declined|expired|withdrawn|selected")


class MissionMilestone(IdMixin, Base):
    """One row per milestone child workflow: delivery, invoice and payment status."""

    __tablename__ = "mission_milestones"
    __table_args__ = (UniqueConstraint("mission_id", "number"),)

    mission_id: Mapped[uuid.UUID] = mapped_column(index=True)
    number: Mapped[int] = mapped_column(Integer)
    workflow_id: Mapped[str] = mapped_column(String(160), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    stage: Mapped[str] = mapped_column(String(32))
    invoice_number: Mapped[str | None] = mapped_column(String(64))
    invoice_due: Mapped[date | None] = mapped_column(Date)
    paid_on: Mapped[date | None] = mapped_column(Date)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class TimelineEvent(IdMixin, Base):
    """What happened, in order, per workflow. (workflow_id, seq) makes a replayed projection a no-op."""

    __tablename__ = "timeline_events"
    __table_args__ = (UniqueConstraint("workflow_id", "seq"),)

    workflow_id: Mapped[str] = mapped_column(String(160))
    seq: Mapped[int] = mapped_column(Integer)
    mission_id: Mapped[uuid.UUID] = mapped_column(index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(48))
    stage: Mapped[str] = mapped_column(String(32))
    actor_user_id: Mapped[uuid.UUID | None]
    actor_role: Mapped[str | None] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    expert_id: Mapped[uuid.UUID | None] = mapped_column(
        doc="the expert the event concerns (domain.visibility.concerned_expert); none: a step of the mission itself"
    )


class Task(IdMixin, Base):
    """A pending human action: one inbox per client organisation, expert, and for ops."""

    __tablename__ = "tasks"
    # the inbox query: open tasks of one party (client org or expert), or of ops, soonest due first
    __table_args__ = (
        UniqueConstraint("workflow_id", "key"),
        Index("ix_tasks_inbox", "party_id", "role", "closed_at", "due_at"),
    )

    workflow_id: Mapped[str] = mapped_column(String(160))
    key: Mapped[str] = mapped_column(String(160))
    mission_id: Mapped[uuid.UUID] = mapped_column(index=True)
    role: Mapped[str] = mapped_column(String(16), index=True, doc="client | expert | ops")
    party_id: Mapped[uuid.UUID | None] = mapped_column(index=True, doc="org id, expert id, or none for ops")
    action: Mapped[str] = mapped_column(String(48))
    title: Mapped[str] = mapped_column(String(300))
    due_at: Mapped[datetime | None]
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    outcome: Mapped[str | None] = mapped_column(String(300))


class InboxVersion(Base):
    """How many times an inbox (the open tasks of one party in one role) changed: written by the projection in the
    transaction that changes the tasks, read by the API, which keeps each inbox's answer under its version."""

    __tablename__ = "inbox_versions"

    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    party_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, doc="org id, expert id; OPS_PARTY for ops")
    version: Mapped[int] = mapped_column(Integer)


OPS_PARTY = uuid.UUID(int=0)  # the ops inbox's key in inbox_versions (its tasks have no party)


class Notification(IdMixin, Base):
    """Outbox of notices (reminders, late-payment notices...): ids and parameters only, no message bodies."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("workflow_id", "key"),)

    workflow_id: Mapped[str] = mapped_column(String(160))
    key: Mapped[str] = mapped_column(String(160))
    mission_id: Mapped[uuid.UUID] = mapped_column(index=True)
    role: Mapped[str] = mapped_column(String(16))
    party_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(48))
    params: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class MissionRating(IdMixin, Base):
    """One rating per side per mission. Double-blind: it reaches the reputation of the rated party (the expert's, or
    the client organisation's) when the ratings are revealed (both rated, or the feedback window closed)."""

    __tablename__ = "mission_ratings"
    __table_args__ = (UniqueConstraint("mission_id", "by"),)

    mission_id: Mapped[uuid.UUID] = mapped_column(index=True)
    by: Mapped[str] = mapped_column(String(16), doc="client (rates the expert) | expert (rates the client)")
    expert_id: Mapped[uuid.UUID] = mapped_column(index=True)
    client_org_id: Mapped[uuid.UUID] = mapped_column(index=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]
    revealed_at: Mapped[datetime | None] = mapped_column(doc="double-blind: hidden from the other party until then")
    reply: Mapped[str] = mapped_column(Text, default="", doc="the rated party's public answer (once)")
    replied_at: Mapped[datetime | None]
