"""Projection of the mission workflows into the SQL read model (missions, timeline, tasks, ratings).

One activity call per workflow event, keyed by (workflow id, seq): the timeline row, the mission or milestone
row and the task changes commit in one transaction, and a projection whose (workflow id, seq) is already stored
is skipped whole. A retry or a replay therefore never duplicates a timeline event or a task.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.notify import queue_notice
from activities.projection import AuditRecord, NoticeRequest, Projection, RatingRecord, ReadModelBatch, TaskSpec
from store.db import transaction
from store.models.community import AuditEntry, Expert
from store.models.readmodel import (
    MissionExpert,
    MissionMilestone,
    MissionRating,
    MissionRecord,
    Task,
    TimelineEvent,
)


class ReadModelActivities:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory
        # SQLite has one writer: this worker's batches take turns here (handed over at once) instead of in
        # SQLite's busy handler, which polls the lock with growing sleeps (up to 100 ms) and so leaves it free
        # while a dozen threads sleep. PostgreSQL batches run concurrently (row locks).
        bind = session_factory.kw.get("bind")
        sqlite = bind is not None and bind.dialect.name == "sqlite"
        self._writer: AbstractContextManager[Any] = threading.Lock() if sqlite else nullcontext()

    def all(self) -> list[Callable[..., Any]]:
        """The activities to register on the missions task queue (sync: give the worker a thread pool)."""
        return [self.project, self.record_rating, self.apply_batch]

    @activity.defn(name="project_mission_event")
    def project(self, p: Projection) -> bool:
        """Apply one event; False when it was applied already (retry or replay)."""
        try:
            with transaction(self._sessions) as s:
                return apply_projection(s, p)
        except IntegrityError:
            return False  # a concurrent attempt of the same projection won the race: same outcome

    @activity.defn(name="record_mission_rating")
    def record_rating(self, r: RatingRecord) -> bool:
        """Store one side's rating; a client's rating of the expert updates the expert's reputation once."""
        try:
            with transaction(self._sessions) as s:
                return apply_rating(s, r)
        except IntegrityError:
            return False

    @activity.defn(name="apply_read_model_batch")
    def apply_batch(self, batch: ReadModelBatch) -> int:
        """A workflow's pending writes (events, notices, ratings) in one transaction: one commit instead of one per
        write. Returns how many were new. A concurrent attempt of the same batch that wins a unique-key race makes
        this one apply its items one transaction each, where every already-applied item is skipped."""
        try:
            with self._writer, transaction(self._sessions) as s:
                return _apply_batch(s, batch)
        except IntegrityError:
            applied = 0
            for item in [*batch.projections, *batch.notices, *batch.ratings, *batch.audits]:
                one = ReadModelBatch.model_validate({_FIELD[type(item)]: [item]})
                try:
                    with transaction(self._sessions) as s:
                        applied += _apply_batch(s, one)
                except IntegrityError:
                    pass  # applied by the concurrent attempt
            return applied


_FIELD: dict[type, str] = {
    Projection: "projections",
    NoticeRequest: "notices",
    RatingRecord: "ratings",
    AuditRecord: "audits",
}


def _apply_batch(s: Session, batch: ReadModelBatch) -> int:
    """The batch's writes; each mission's materialised detail is refreshed once, after its last event."""
    new_events: dict[UUID, list[TimelineEvent]] = {}
    locked: set[UUID] = set()
    for p in batch.projections:
        event = _apply_event(s, p, locked)
        if event is not None:
            new_events.setdefault(p.mission_id, []).append(event)
    for mission_id, events in new_events.items():
        refresh_detail(s, mission_id, new_events=events)
    applied = sum(map(len, new_events.values()))
    applied += sum(queue_notice(s, n) for n in batch.notices)
    applied += sum(apply_rating(s, r) for r in batch.ratings)
    applied += sum(apply_audit(s, a) for a in batch.audits)
    return applied


def apply_audit(s: Session, a: AuditRecord) -> bool:
    """One audit entry; its time comes from the workflow (deterministic), so a retry finds it and adds nothing."""
    exists = s.scalar(
        select(AuditEntry.id).where(
            AuditEntry.target == a.target,
            AuditEntry.at == a.at,
            AuditEntry.action == a.action,
            AuditEntry.actor_user_id == a.actor_user_id,
        )
    )
    if exists is not None:
        return False
    s.add(AuditEntry(**a.model_dump()))
    return True


def apply_projection(s: Session, p: Projection) -> bool:
    """Apply one event in the caller's transaction; False when it was applied already (retry or replay)."""
    event = _apply_event(s, p, set())
    if event is None:
        return False
    refresh_detail(s, p.mission_id, new_events=[event])
    return True


def _apply_event(s: Session, p: Projection, locked: set[UUID]) -> TimelineEvent | None:
    """The event's rows, without the detail refresh; None when it was applied already. `locked`: the missions
    whose lock this transaction holds already (earlier events of the same batch); the event's mission is added."""
    seen = s.scalar(
        select(TimelineEvent.id).where(TimelineEvent.workflow_id == p.workflow_id, TimelineEvent.seq == p.seq)
    )
    if seen is not None:
        return None
    if p.mission_id not in locked:
        # One projection at a time per mission: the mission and its milestones project concurrently, and
        # the materialised detail is read-modify-write (PostgreSQL row lock; SQLite has one writer).
        s.get(MissionRecord, p.mission_id, with_for_update=True, populate_existing=True)
        locked.add(p.mission_id)
    event = TimelineEvent(
        workflow_id=p.workflow_id,
        seq=p.seq,
        mission_id=p.mission_id,
        at=p.at,
        kind=p.kind,
        stage=p.stage,
        actor_user_id=p.actor_user_id,
        actor_role=p.actor_role,
        summary=p.summary,
        details=p.details,
    )
    s.add(event)
    if p.mission:
        _upsert_mission(s, p)
    if p.milestone:
        _upsert_milestone(s, p)
    _close_tasks(s, p)
    for spec in p.open_tasks:
        _open_task(s, p, spec)
    s.flush()
    return event


def apply_rating(s: Session, r: RatingRecord) -> bool:
    exists = s.scalar(
        select(MissionRating.id).where(MissionRating.mission_id == r.mission_id, MissionRating.by == r.by)
    )
    if exists is not None:
        return False
    s.add(MissionRating(**r.model_dump()))
    if r.by == "client":
        expert = s.get(Expert, r.expert_id, with_for_update=True)
        if expert is not None:
            count = expert.ratings_count or 0
            total = Decimal(expert.rating or 0) * count + r.score
            expert.ratings_count = count + 1
            expert.rating = (total / (count + 1)).quantize(Decimal("0.01"))
            expert.completed_missions = (expert.completed_missions or 0) + 1
    s.flush()
    return True


def _upsert_mission(s: Session, p: Projection) -> None:
    row = p.mission
    assert row is not None
    rec = s.get(MissionRecord, row.mission_id)
    if rec is None:
        rec = MissionRecord(id=row.mission_id, workflow_id=p.workflow_id, created_at=p.at, last_seq=0)
        s.add(rec)
    if rec.last_seq > p.seq:
        return  # an older event arriving late must not roll the row back
    rec.client_org_id = row.client_org_id
    rec.title = row.title
    rec.business_function = row.business_function
    rec.stage = row.stage
    rec.paused = row.paused
    rec.selected_expert_id = row.selected_expert_id
    rec.next_deadline = row.next_deadline
    rec.closed_reason = row.closed_reason
    rec.last_seq = p.seq
    rec.updated_at = p.at
    current = {
        str(e.expert_id): e for e in s.scalars(select(MissionExpert).where(MissionExpert.mission_id == row.mission_id))
    }
    for expert_id, status in row.experts.items():
        if expert_id in current:
            current[expert_id].status = status
        else:
            s.add(MissionExpert(mission_id=row.mission_id, expert_id=UUID(expert_id), status=status))


def _upsert_milestone(s: Session, p: Projection) -> None:
    row = p.milestone
    assert row is not None
    rec = s.scalar(select(MissionMilestone).where(MissionMilestone.workflow_id == p.workflow_id))
    if rec is None:
        rec = MissionMilestone(workflow_id=p.workflow_id, mission_id=row.mission_id, number=row.number, last_seq=0)
        s.add(rec)
    if rec.last_seq > p.seq:
        return
    rec.title = row.title
    rec.amount = row.amount
    rec.currency = row.currency
    rec.stage = row.stage
    rec.invoice_number = row.invoice_number
    rec.invoice_due = row.invoice_due
    rec.paid_on = row.paid_on
    rec.last_seq = p.seq


def _close_tasks(s: Session, p: Projection) -> None:
    if not p.close_tasks:
        return
    query = select(Task).where(Task.workflow_id == p.workflow_id, Task.closed_at.is_(None))
    if "*" not in p.close_tasks:
        query = query.where(Task.key.in_(p.close_tasks))
    for task in s.scalars(query):
        task.closed_at = p.at
        task.outcome = (p.outcome or p.kind)[:300]


def _open_task(s: Session, p: Projection, spec: TaskSpec) -> None:
    task = s.scalar(select(Task).where(Task.workflow_id == p.workflow_id, Task.key == spec.key))
    if task is None:
        s.add(
            Task(
                workflow_id=p.workflow_id,
                key=spec.key,
                mission_id=p.mission_id,
                role=spec.role,
                party_id=spec.party_id,
                action=spec.action,
                title=spec.title[:300],
                due_at=spec.due_at,
                opened_at=p.at,
            )
        )
        return
    # the same pending action again (e.g. a deadline moved): refresh it and reopen it
    task.title = spec.title[:300]
    task.due_at = spec.due_at
    task.closed_at = None
    task.outcome = None


def _timeline_entry(e: TimelineEvent) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "workflow_id": e.workflow_id,
        "at": e.at.isoformat(),
        "kind": e.kind,
        "stage": e.stage,
        "actor_role": e.actor_role,
        "summary": e.summary,
        "expert_id": (e.details or {}).get("expert_id"),
    }


def _timeline_order(entry: dict[str, Any]) -> tuple[datetime, str, int]:
    return datetime.fromisoformat(entry["at"]), entry["workflow_id"], entry["seq"]


def refresh_detail(s: Session, mission_id: UUID, *, new_events: Sequence[TimelineEvent] = ()) -> None:
    """Materialise the mission's detail view (what `GET /missions/{id}` serves) in the same transaction, so a
    read is one row instead of four queries. Each party's view is filtered from it at read time. The timeline
    grows by the new events (re-read whole only the first time); milestones and open tasks, a few rows, are
    re-read."""
    rec = s.get(MissionRecord, mission_id)
    if rec is None:
        return
    known = (rec.detail or {}).get("timeline") if new_events else None
    if known is not None:
        timeline = sorted([*known, *map(_timeline_entry, new_events)], key=_timeline_order)
    else:
        events = s.scalars(
            select(TimelineEvent)
            .where(TimelineEvent.mission_id == mission_id)
            .order_by(TimelineEvent.at, TimelineEvent.workflow_id, TimelineEvent.seq)
        )
        timeline = [_timeline_entry(e) for e in events]
    milestones = s.scalars(
        select(MissionMilestone).where(MissionMilestone.mission_id == mission_id).order_by(MissionMilestone.number)
    )
    tasks = s.scalars(
        select(Task)
        .where(Task.mission_id == mission_id, Task.closed_at.is_(None))
        .order_by(Task.due_at.is_(None), Task.due_at, Task.opened_at)
    )
    rec.detail = {
        "timeline": timeline,
        "milestones": [
            {
                "number": m.number,
                "title": m.title,
                "amount": str(m.amount),
                "currency": m.currency,
                "stage": m.stage,
                "invoice_number": m.invoice_number,
                "invoice_due": m.invoice_due.isoformat() if m.invoice_due else None,
                "paid_on": m.paid_on.isoformat() if m.paid_on else None,
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
                "due_at": t.due_at.isoformat() if t.due_at else None,
                "opened_at": t.opened_at.isoformat(),
            }
            for t in tasks
        ],
    }
