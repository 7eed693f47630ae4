"""The workflows' one way to the read model: `write_read_model`, a local activity each workflow awaits, one write
at a time and in order (workflows/readmodel.py). A write holds a timeline event (activities.timeline) and the rating
it gives, or a notice to a party, or the audit entry of an ops action, or a membership's row; each is idempotent by
its own key, so a retried write changes nothing twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.membership import membership_row
from activities.onboarding import apply_onboarding
from activities.projection import AuditRecord, NoticeRequest, RatingRecord, ReadModelWrite
from activities.timeline import apply_event
from domain.membership import MembershipProjection, MembershipStatus
from store.db import transaction
from store.models.community import AuditEntry, Expert, User
from store.models.readmodel import MissionRating, Notification


class ReadModelActivities:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory
        # SQLite has one writer: this worker's writes take turns here (handed over at once) instead of in SQLite's
        # busy handler, which polls the lock with growing sleeps (up to 100 ms) and so leaves it free while a dozen
        # threads sleep. PostgreSQL writes run concurrently (row locks).
        bind = session_factory.kw.get("bind")
        sqlite = bind is not None and bind.dialect.name == "sqlite"
        self._writer: AbstractContextManager[Any] = threading.Lock() if sqlite else nullcontext()

    def all(self) -> list[Callable[..., Any]]:
        """The activities to register on the missions task queue (sync: give the worker a thread pool)."""
        return [self.write_read_model]

    @activity.defn
    def write_read_model(self, w: ReadModelWrite) -> bool:
        """Apply one write in one transaction; False when it was applied already (a retry, or a concurrent attempt).
        A concurrent attempt that won a unique-key race fails this one's transaction: applied again, every part is
        then found and skipped (any other integrity error fails again, and the activity is retried)."""
        try:
            with self._writer, transaction(self._sessions) as s:
                return _apply(s, w)
        except IntegrityError:
            with self._writer, transaction(self._sessions) as s:
                return _apply(s, w)


def _apply(s: Session, w: ReadModelWrite) -> bool:
    applied = False
    if w.event is not None:
        applied = apply_event(s, w.event)
    if w.rating is not None:
        applied = _apply_rating(s, w.rating) or applied
    for notice in w.notices:
        applied = queue_notice(s, notice) or applied
    if w.audit is not None:
        applied = _apply_audit(s, w.audit) or applied
    if w.membership is not None:
        applied = _apply_membership(s, w.membership) or applied
    if w.onboarding is not None:
        applied = apply_onboarding(s, w.onboarding) or applied
    return applied


def queue_notice(s: Session, n: NoticeRequest) -> bool:
    """Add the notice to the outbox table, keyed by (workflow id, key): the mailer sends it once."""
    exists = s.scalar(
        select(Notification.id).where(Notification.workflow_id == n.workflow_id, Notification.key == n.key)
    )
    if exists is not None:
        return False
    s.add(Notification(**n.model_dump()))
    return True


def _apply_audit(s: Session, a: AuditRecord) -> bool:
    """One audit entry; its time comes from the workflow (deterministic), so a retry finds it and adds nothing. An
    account the database does not know (removed since, or a test's) is named in the entry's details: the entry is
    kept, and the write that carries it (the action's event) is not held up."""
    known = s.get(User, a.actor_user_id) is not None
    actor = a.actor_user_id if known else None
    exists = s.scalar(
        select(AuditEntry.id).where(
            AuditEntry.target == a.target,
            AuditEntry.at == a.at,
            AuditEntry.action == a.action,
            AuditEntry.actor_user_id == actor if known else AuditEntry.actor_user_id.is_(None),
        )
    )
    if exists is not None:
        return False
    details = a.details if known else {**a.details, "unknown_actor_user_id": str(a.actor_user_id)}
    s.add(AuditEntry(at=a.at, actor_user_id=actor, action=a.action, target=a.target, reason=a.reason, details=details))
    return True


def _apply_rating(s: Session, r: RatingRecord) -> bool:
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


def _apply_membership(s: Session, p: MembershipProjection) -> bool:
    """The status the API checks; an expert's matching flag follows (lapsed: out of matching)."""
    membership = membership_row(s, p)
    changed = membership.status != p.status.value
    membership.status = p.status.value
    membership.fee_schedule_version, membership.fee_amount = p.term.schedule_version, p.term.fee.amount
    membership.currency, membership.term_start, membership.term_end = p.term.fee.currency, p.term.start, p.term.end
    if p.community == "expert" and p.status is not MembershipStatus.PENDING:
        expert = s.get(Expert, p.member_id)
        if expert is not None:
            expert.membership_active = p.status is MembershipStatus.ACTIVE
    return changed
