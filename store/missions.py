"""Queries over the mission read models: what each audience may list, filtered and paginated."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from domain.actions import answers_task
from domain.visibility import KEEPS_SIGHT
from store.models.community import User
from store.models.readmodel import (
    OPS_PARTY,
    InboxVersion,
    MissionExpert,
    MissionMilestone,
    MissionRating,
    MissionRecord,
    Task,
    TimelineEvent,
)


def _visible(query: Select[tuple[MissionRecord]], user: User) -> Select[tuple[MissionRecord]]:
    if user.role == "client":
        return query.where(MissionRecord.client_org_id == user.organisation_id)
    if user.role == "expert":
        engaged = select(MissionExpert.mission_id).where(
            MissionExpert.expert_id == user.expert_id, MissionExpert.status.in_(KEEPS_SIGHT)
        )
        return query.where(or_(MissionRecord.id.in_(engaged), MissionRecord.selected_expert_id == user.expert_id))
    return query  # ops see every mission


def list_missions(
    session: Session,
    *,
    user: User,
    stages: list[str] | None = None,
    deadline_before: datetime | None = None,
    deadline_after: datetime | None = None,
    client_org_id: uuid.UUID | None = None,
    expert_id: uuid.UUID | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[MissionRecord], int]:
    query = _visible(select(MissionRecord), user)
    if stages:
        query = query.where(MissionRecord.stage.in_(stages))
    if deadline_before:
        query = query.where(MissionRecord.next_deadline <= deadline_before)
    if deadline_after:
        query = query.where(MissionRecord.next_deadline >= deadline_after)
    if client_org_id:
        query = query.where(MissionRecord.client_org_id == client_org_id)
    if expert_id:
        query = query.where(
            or_(
                MissionRecord.selected_expert_id == expert_id,
                MissionRecord.id.in_(select(MissionExpert.mission_id).where(MissionExpert.expert_id == expert_id)),
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(
            MissionRecord.next_deadline.is_(None), MissionRecord.next_deadline, MissionRecord.updated_at.desc()
        )
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total)


def timeline(session: Session, *, mission_id: uuid.UUID) -> list[TimelineEvent]:
    return list(
        session.scalars(
            select(TimelineEvent)
            .where(TimelineEvent.mission_id == mission_id)
            .order_by(TimelineEvent.at, TimelineEvent.workflow_id, TimelineEvent.seq)
        )
    )


def milestones(session: Session, *, mission_id: uuid.UUID) -> list[MissionMilestone]:
    return list(
        session.scalars(
            select(MissionMilestone).where(MissionMilestone.mission_id == mission_id).order_by(MissionMilestone.number)
        )
    )


def ratings(session: Session, *, mission_id: uuid.UUID) -> list[MissionRating]:
    """The mission's ratings, all of them: `api.views.ratings_of` keeps what the reader may see."""
    return list(
        session.scalars(select(MissionRating).where(MissionRating.mission_id == mission_id).order_by(MissionRating.at))
    )


def open_tasks(
    session: Session, *, user: User, mission_id: uuid.UUID | None = None, limit: int = 200, role: str | None = None
) -> list[Task]:
    """The inbox: open tasks addressed to this user's organisation, expert profile, or to ops (ops may ask for
    another role's tasks of a mission)."""
    query = select(Task).where(Task.closed_at.is_(None), Task.role == (role or user.role))
    if user.role == "client":
        query = query.where(Task.party_id == user.organisation_id)
    elif user.role == "expert":
        query = query.where(Task.party_id == user.expert_id)
    if mission_id:
        query = query.where(Task.mission_id == mission_id)
    tasks = session.scalars(query.order_by(Task.due_at.is_(None), Task.due_at, Task.opened_at).limit(limit))
    if user.role != "client" or role not in (None, "client"):
        return list(tasks)
    return [t for t in tasks if answers_task("client", user.org_role, t.action)]  # the member's role's tasks


INBOX_COLUMNS = (
    Task.id, Task.mission_id, Task.workflow_id, Task.key, Task.role, Task.action, Task.title, Task.due_at,
    Task.opened_at,
)  # fmt: skip


_INBOX_ORDER = (Task.due_at.is_(None), Task.due_at, Task.opened_at)
_OPEN = (Task.closed_at.is_(None), Task.role == bindparam("role"))
# Built once: the inbox is the hottest read (every party polls it), and building a statement costs as much as
# running it. Parties see the tasks of their organisation or expert profile; ops every open ops task.
INBOX_LIMIT = 200
_INBOX = {
    "party": select(*INBOX_COLUMNS)
    .where(*_OPEN, Task.party_id == bindparam("party"))
    .order_by(*_INBOX_ORDER)
    .limit(INBOX_LIMIT),
    "ops": select(*INBOX_COLUMNS).where(*_OPEN).order_by(*_INBOX_ORDER).limit(INBOX_LIMIT),
}


InboxKey = tuple[str, uuid.UUID]
_INBOX_VERSION = select(InboxVersion.version).where(
    InboxVersion.role == bindparam("role"), InboxVersion.party_id == bindparam("party")
)


def inbox_key(user: User) -> InboxKey:
    """Whose inbox this user reads: their organisation's (clients), their expert profile's, or the ops inbox."""
    if user.role == "ops":
        return "ops", OPS_PARTY
    party = user.organisation_id if user.role == "client" else user.expert_id
    return user.role, party or OPS_PARTY


def inbox_version(connection: Connection, key: InboxKey) -> int:
    """How many times the inbox changed (the projection counts, in the transaction that changes its tasks)."""
    version: int | None = connection.execute(_INBOX_VERSION, {"role": key[0], "party": key[1]}).scalar()
    return version or 0


CacheKey = tuple[str | uuid.UUID, ...]  # the inbox (InboxKey), and the reader's role in their organisation


class InboxCache:
    """Each inbox's last answer, under the inbox's version: an inbox that has not changed since is answered without
    reading its tasks again (every party polls its inbox; most polls find nothing new). Read the version before the
    rows: the rows are then as new as the version or newer, never older. One entry per inbox, the least recently
    read out beyond `size`; safe across threads (the routes read in the thread pool)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._entries: OrderedDict[CacheKey, tuple[int, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: CacheKey, version: int) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: CacheKey, version: int, body: bytes) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > version:
                return  # a request that read a newer version answered already
            self._entries[key] = (version, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def inbox_rows(connection: Connection, key: InboxKey) -> list[Any]:
    """The inbox `key` (`inbox_key`) as plain rows (the columns a task view needs, the INBOX_LIMIT soonest due), on
    a bare connection: no ORM on the hot path."""
    role, party = key
    if role == "ops":
        return list(connection.execute(_INBOX["ops"], {"role": role}))
    return list(connection.execute(_INBOX["party"], {"role": role, "party": party}))


def parked(
    session: Session,
    *,
    limit: int = 500,
    client_org_id: uuid.UUID | None = None,
    expert_id: uuid.UUID | None = None,
) -> list[tuple[Task, MissionRecord | None]]:
    """The needs-attention queue: every workflow (mission or milestone) waiting for a repair, with its reason, from
    the open ops `repair` tasks the workflows open when they park (the task's title is the reason); oldest first.
    `client_org_id` / `expert_id`: only the missions of this client or with this selected expert."""
    query = (
        select(Task, MissionRecord)
        .join(MissionRecord, MissionRecord.id == Task.mission_id, isouter=True)
        .where(Task.closed_at.is_(None), Task.role == "ops", Task.action == "repair")
        .order_by(Task.opened_at)
        .limit(limit)
    )
    if client_org_id is not None:
        query = query.where(MissionRecord.client_org_id == client_org_id)
    if expert_id is not None:
        query = query.where(MissionRecord.selected_expert_id == expert_id)
    return [(task, mission) for task, mission in session.execute(query).all()]


def milestone_number(workflow_id: str) -> int | None:
    """The milestone number of `mission:{id}:milestone:{n}`, None for a mission's workflow id."""
    _, sep, number = workflow_id.partition(":milestone:")
    return int(number) if sep and number.isdigit() else None
