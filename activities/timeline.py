"""A timeline event into the mission read model: the timeline row, the mission or milestone row, the tasks it
opens and closes (with their inboxes' versions), and the mission's materialised detail, in the caller's transaction.

Each event is keyed by (workflow id, seq): an event already stored is skipped whole, so a retry or a replay never
duplicates a timeline event or a task, and an older event arriving late never rolls a row back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from activities.projection import Projection, TaskSpec
from domain.visibility import concerned_expert
from store.models.readmodel import (
    OPS_PARTY,
    InboxVersion,
    MissionExpert,
    MissionMilestone,
    MissionRecord,
    Task,
    TimelineEvent,
)


def apply_event(s: Session, p: Projection) -> bool:
    """Apply one event; False when it was applied already."""
    inboxes: set[tuple[str, UUID]] = set()
    entry = _apply_event(s, p, inboxes)
    if entry is None:
        return False
    _bump_inboxes(s.connection(), inboxes)
    refresh_detail(s, p.mission_id, new_entries=[entry])
    return True


# The hot path of every projection (a few per human action) is SQLAlchemy Core on the session's connection: the
# ORM's unit of work cost more than the statements (py-spy on the missions worker under bench.load).
_TABLES = MissionRecord.metadata.tables
_MISSIONS = _TABLES[MissionRecord.__tablename__]
_EXPERTS = _TABLES[MissionExpert.__tablename__]
_MILESTONES = _TABLES[MissionMilestone.__tablename__]
_EVENTS = _TABLES[TimelineEvent.__tablename__]
_TASKS = _TABLES[Task.__tablename__]
# Built once: a statement built per call costs about as much as running it (construction and cache key). An
# UPDATE's SET takes the columns its parameters name; the `_`-prefixed parameters are its WHERE's.
_SEEN = select(_EVENTS.c.id).where(_EVENTS.c.workflow_id == bindparam("wf"), _EVENTS.c.seq == bindparam("seq"))
_LOCK_MISSION = select(_MISSIONS.c.id).where(_MISSIONS.c.id == bindparam("mission")).with_for_update()
_MISSION_SEQ = select(_MISSIONS.c.last_seq).where(_MISSIONS.c.id == bindparam("mission"))
_SELECTED = select(_MISSIONS.c.selected_expert_id).where(_MISSIONS.c.id == bindparam("mission"))
_UPDATE_MISSION = update(_MISSIONS).where(_MISSIONS.c.id == bindparam("_mission"))
_MISSION_EXPERTS = select(_EXPERTS.c.expert_id, _EXPERTS.c.status).where(_EXPERTS.c.mission_id == bindparam("mission"))
_UPDATE_EXPERT = update(_EXPERTS).where(
    _EXPERTS.c.mission_id == bindparam("_mission"), _EXPERTS.c.expert_id == bindparam("_expert")
)
_MILESTONE_SEQ = select(_MILESTONES.c.last_seq).where(_MILESTONES.c.workflow_id == bindparam("wf"))
_UPDATE_MILESTONE = update(_MILESTONES).where(_MILESTONES.c.workflow_id == bindparam("_wf"))
_CLOSE_ALL_TASKS = (
    update(_TASKS)
    .where(_TASKS.c.workflow_id == bindparam("_wf"), _TASKS.c.closed_at.is_(None))
    .returning(_TASKS.c.role, _TASKS.c.party_id)
)
_CLOSE_TASKS = _CLOSE_ALL_TASKS.where(_TASKS.c.key.in_(bindparam("_keys", expanding=True)))
_TASK_ID = select(_TASKS.c.id).where(_TASKS.c.workflow_id == bindparam("wf"), _TASKS.c.key == bindparam("key"))
_UPDATE_TASK = update(_TASKS).where(_TASKS.c.id == bindparam("_id"))
_INBOXES = _TABLES[InboxVersion.__tablename__]


def _bump_statement(insert: Any) -> Any:
    return (
        insert(_INBOXES)
        .values(role=bindparam("role"), party_id=bindparam("party"), version=1)
        .on_conflict_do_update(
            index_elements=[_INBOXES.c.role, _INBOXES.c.party_id], set_={"version": _INBOXES.c.version + 1}
        )
    )


_BUMP_INBOX = {"sqlite": _bump_statement(sqlite.insert), "postgresql": _bump_statement(postgresql.insert)}
_DETAIL = select(_MISSIONS.c.detail).where(_MISSIONS.c.id == bindparam("mission"))
_TIMELINE = (
    select(_EVENTS)
    .where(_EVENTS.c.mission_id == bindparam("mission"))
    .order_by(_EVENTS.c.at, _EVENTS.c.workflow_id, _EVENTS.c.seq)
)
_MILESTONE_ROWS = (
    select(_MILESTONES).where(_MILESTONES.c.mission_id == bindparam("mission")).order_by(_MILESTONES.c.number)
)
_OPEN_TASKS = (
    select(_TASKS)
    .where(_TASKS.c.mission_id == bindparam("mission"), _TASKS.c.closed_at.is_(None))
    .order_by(_TASKS.c.due_at.is_(None), _TASKS.c.due_at, _TASKS.c.opened_at)
)
_SET_DETAIL = update(_MISSIONS).where(_MISSIONS.c.id == bindparam("_mission"))
_INSERT_EVENTS, _INSERT_MISSIONS, _INSERT_EXPERTS, _INSERT_MILESTONES, _INSERT_TASKS = (
    t.insert() for t in (_EVENTS, _MISSIONS, _EXPERTS, _MILESTONES, _TASKS)
)


def _apply_event(s: Session, p: Projection, inboxes: set[tuple[str, UUID]]) -> dict[str, Any] | None:
    """The event's rows, without the detail refresh: its timeline entry, or None when it was applied already.
    `inboxes`: the inboxes (role, party) whose tasks changed; this event's are added."""
    c = s.connection()
    seen = c.execute(_SEEN, {"wf": p.workflow_id, "seq": p.seq}).first()
    if seen is not None:
        return None
    # One projection at a time per mission: the mission and its milestones project concurrently, and the
    # materialised detail is read-modify-write (PostgreSQL row lock; SQLite has one writer).
    c.execute(_LOCK_MISSION, {"mission": p.mission_id})
    expert_id = _concerned_expert(c, p)
    c.execute(
        _INSERT_EVENTS,
        {
            "id": uuid4(),
            "workflow_id": p.workflow_id,
            "seq": p.seq,
            "mission_id": p.mission_id,
            "at": p.at,
            "kind": p.kind,
            "stage": p.stage,
            "actor_user_id": p.actor_user_id,
            "actor_role": p.actor_role,
            "summary": p.summary,
            "details": p.details,
            "expert_id": expert_id,
        },
    )
    if p.mission:
        _upsert_mission(c, p)
    if p.milestone:
        _upsert_milestone(c, p)
    _close_tasks(c, p, inboxes)
    for spec in p.open_tasks:
        _open_task(c, p, spec)
        inboxes.add((spec.role, spec.party_id or OPS_PARTY))
    return {
        "seq": p.seq,
        "workflow_id": p.workflow_id,
        "at": p.at.isoformat(),
        "kind": p.kind,
        "stage": p.stage,
        "actor_role": p.actor_role,
        "summary": p.summary,
        "expert_id": str(expert_id) if expert_id else None,
    }


def _concerned_expert(c: Connection, p: Projection) -> UUID | None:
    """Which expert the event concerns, so that every read filters the timeline by one rule (domain.visibility).
    A milestone's events carry no mission row: the mission's contractor is read from its row."""
    selected = p.mission.selected_expert_id if p.mission else c.execute(_SELECTED, {"mission": p.mission_id}).scalar()
    return concerned_expert(
        p.kind,
        details=p.details,
        opened_for_experts=[t.party_id for t in p.open_tasks if t.role == "expert"],
        closed_task_keys=p.close_tasks,
        selected_expert_id=selected,
    )


def _upsert_mission(c: Connection, p: Projection) -> None:
    row = p.mission
    assert row is not None
    last_seq = c.execute(_MISSION_SEQ, {"mission": row.mission_id}).scalar()
    if last_seq is not None and last_seq > p.seq:
        return  # an older event arriving late must not roll the row back
    values = {
        "client_org_id": row.client_org_id,
        "title": row.title,
        "business_function": row.business_function,
        "stage": row.stage,
        "paused": row.paused,
        "selected_expert_id": row.selected_expert_id,
        "next_deadline": row.next_deadline,
        "closed_reason": row.closed_reason,
        "last_seq": p.seq,
        "updated_at": p.at,
    }
    if last_seq is None:
        c.execute(_INSERT_MISSIONS, {"id": row.mission_id, "workflow_id": p.workflow_id, "created_at": p.at, **values})
    else:
        c.execute(_UPDATE_MISSION, {"_mission": row.mission_id, **values})
    current = {str(expert_id): status for expert_id, status in c.execute(_MISSION_EXPERTS, {"mission": row.mission_id})}
    for expert_id, status in row.experts.items():
        if expert_id not in current:
            c.execute(
                _INSERT_EXPERTS,
                {"id": uuid4(), "mission_id": row.mission_id, "expert_id": UUID(expert_id), "status": status},
            )
        elif current[expert_id] != status:
            c.execute(_UPDATE_EXPERT, {"_mission": row.mission_id, "_expert": UUID(expert_id), "status": status})


def _upsert_milestone(c: Connection, p: Projection) -> None:
    row = p.milestone
    assert row is not None
    last_seq = c.execute(_MILESTONE_SEQ, {"wf": p.workflow_id}).scalar()
    if last_seq is not None and last_seq > p.seq:
        return
    values = {
        "title": row.title,
        "amount": row.amount,
        "currency": row.currency,
        "stage": row.stage,
        "invoice_number": row.invoice_number,
        "invoice_due": row.invoice_due,
        "paid_on": row.paid_on,
        "last_seq": p.seq,
    }
    if last_seq is None:
        c.execute(
            _INSERT_MILESTONES,
            {"id": uuid4(), "workflow_id": p.workflow_id, "mission_id": row.mission_id, "number": row.number, **values},
        )
    else:
        c.execute(_UPDATE_MILESTONE, {"_wf": p.workflow_id, **values})


def _close_tasks(c: Connection, p: Projection, inboxes: set[tuple[str, UUID]]) -> None:
    if not p.close_tasks:
        return
    values = {"_wf": p.workflow_id, "closed_at": p.at, "outcome": (p.outcome or p.kind)[:300]}
    if "*" in p.close_tasks:
        closed = c.execute(_CLOSE_ALL_TASKS, values)
    else:
        closed = c.execute(_CLOSE_TASKS, {"_keys": list(p.close_tasks), **values})
    inboxes.update((role, party or OPS_PARTY) for role, party in closed)


def _bump_inboxes(c: Connection, inboxes: set[tuple[str, UUID]]) -> None:
    """One more version for each inbox whose tasks this transaction changed (in one order: PostgreSQL row locks)."""
    if inboxes:
        bump = _BUMP_INBOX[c.dialect.name]
        for role, party in sorted(inboxes, key=lambda k: (k[0], str(k[1]))):
            c.execute(bump, {"role": role, "party": party})


def _open_task(c: Connection, p: Projection, spec: TaskSpec) -> None:
    task_id = c.execute(_TASK_ID, {"wf": p.workflow_id, "key": spec.key}).scalar()
    if task_id is None:
        c.execute(
            _INSERT_TASKS,
            {
                "id": uuid4(),
                "workflow_id": p.workflow_id,
                "key": spec.key,
                "mission_id": p.mission_id,
                "role": spec.role,
                "party_id": spec.party_id,
                "action": spec.action,
                "title": spec.title[:300],
                "due_at": spec.due_at,
                "opened_at": p.at,
            },
        )
        return
    # the same pending action again (a deadline moved; a milestone handed over to another expert): refresh it, its
    # addressee included, and reopen it
    c.execute(
        _UPDATE_TASK,
        {
            "_id": task_id,
            "role": spec.role,
            "party_id": spec.party_id,
            "action": spec.action,
            "title": spec.title[:300],
            "due_at": spec.due_at,
            "closed_at": None,
            "outcome": None,
        },
    )


def _aware(at: datetime) -> datetime:
    """A time read back from a column without time zone is UTC (what the workflows write)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _timeline_entry(e: Any) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "workflow_id": e.workflow_id,
        "at": _aware(e.at).isoformat(),
        "kind": e.kind,
        "stage": e.stage,
        "actor_role": e.actor_role,
        "summary": e.summary,
        "expert_id": str(e.expert_id) if e.expert_id else None,
    }


def _timeline_order(entry: dict[str, Any]) -> tuple[datetime, str, int]:
    return _aware(datetime.fromisoformat(entry["at"])), entry["workflow_id"], entry["seq"]


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def refresh_detail(s: Session, mission_id: UUID, *, new_entries: Sequence[dict[str, Any]] = ()) -> None:
    """Materialise the mission's detail view (what `GET /missions/{id}` serves) in the same transaction, so a
    read is one row instead of four queries. Each party's view is filtered from it at read time. The timeline
    grows by the new entries (re-read whole only the first time); milestones and open tasks, a few rows, are
    re-read."""
    c = s.connection()
    found = c.execute(_DETAIL, {"mission": mission_id}).first()
    if found is None:
        return
    known = (found.detail or {}).get("timeline") if new_entries else None
    timeline = sorted([*known, *new_entries], key=_timeline_order) if known is not None else None
    c.execute(_SET_DETAIL, {"_mission": mission_id, "detail": mission_detail(c, mission_id, timeline=timeline)})


def mission_detail(c: Connection, mission_id: UUID, *, timeline: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The detail view built from the read-model tables (the timeline too unless given). The projection stores it;
    the API builds it for a row whose stored detail a migration cleared, until the mission's next event."""
    if timeline is None:
        timeline = [_timeline_entry(e) for e in c.execute(_TIMELINE, {"mission": mission_id})]
    milestones = c.execute(_MILESTONE_ROWS, {"mission": mission_id})
    tasks = c.execute(_OPEN_TASKS, {"mission": mission_id})
    return {
        "timeline": timeline,
        "milestones": [
            {
                "number": m.number,
                "title": m.title,
                "amount": str(m.amount),
                "currency": m.currency,
                "stage": m.stage,
                "invoice_number": m.invoice_number,
                "invoice_due": _iso(m.invoice_due),
                "paid_on": _iso(m.paid_on),
            }
            for m in milestones
        ],
        "open_tasks": [
            {
                "id": str(t.id),
                "mission_id": str(t.mission_id),
                "workflow_id": t.workflow_id,
                "key": t.key,
                "role": t.role,
                "party_id": str(t.party_id) if t.party_id else None,
                "action": t.action,
                "title": t.title,
                "due_at": _iso(t.due_at),
                "opened_at": t.opened_at.isoformat(),
            }
            for t in tasks
        ],
    }
