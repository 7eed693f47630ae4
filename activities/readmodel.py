"""The workflows' one way to the read model: `write_read_model`, a local activity each workflow awaits, one write
at a time and in order (workflows/readmodel.py). A write holds a timeline event (activities.timeline) and the rating
it gives, or a notice to a party, or the audit entry of an ops action, or a membership's row; each is idempotent by
its own key, so a retried write changes nothing twice.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.membership import membership_row
from activities.onboarding import apply_onboarding
from activities.projection import (
    AuditRecord,
    NoticeRequest,
    Projection,
    RatingRecord,
    RatingReply,
    RatingsRevealed,
    ReadModelWrite,
)
from activities.timeline import apply_event
from domain.membership import MembershipProjection, MembershipStatus
from store import directory
from store.db import transaction
from store.models.community import AuditEntry, Expert, Organisation, User
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
        if applied:  # once: the event's key guards the counts below
            _follow_availability(s, w.event)
            if w.reveal is not None:
                _reveal_ratings(s, w.reveal)
    if w.rating is not None:
        applied = _apply_rating(s, w.rating) or applied
    if w.reply is not None:
        applied = _apply_reply(s, w.reply) or applied
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
    """The rating, kept hidden: it counts in a reputation once revealed (`_reveal_ratings`)."""
    exists = s.scalar(
        select(MissionRating.id).where(MissionRating.mission_id == r.mission_id, MissionRating.by == r.by)
    )
    if exists is not None:
        return False
    s.add(MissionRating(**r.model_dump()))
    s.flush()
    return True


# stages a mission leaves before its contract binds the expert: ending there frees no one
_UNSIGNED = frozenset({"need", "qualification", "shortlist", "invitations", "proposals", "contract"})


def _follow_availability(s: Session, e: Projection) -> None:
    """The directory shows the expert busy from the signature (or the amendment that hands the mission over to them) to
    the mission's last milestone, free at its end (or once they handed it over)."""
    expert_id = e.mission.selected_expert_id if e.mission is not None else None
    if expert_id is None:
        return
    if e.kind == "stage:delivery" and "busy_until" in e.details:
        directory.engaged(s, expert_id, date.fromisoformat(e.details["busy_until"]))
    elif e.kind == "contract_amended":  # a handover: the new expert is engaged, the outgoing one freed
        directory.engaged(s, expert_id, date.fromisoformat(e.details["busy_until"]))
        directory.freed(s, uuid.UUID(e.details["from"]), e.at.date())
    elif e.kind in ("stage:closed", "stage:cancelled") and e.details.get("from") not in _UNSIGNED:
        directory.freed(s, expert_id, e.at.date())


def _average(current: Decimal | None, count: int | None, score: int) -> tuple[Decimal, int]:
    n = count or 0
    return ((Decimal(current or 0) * n + score) / (n + 1)).quantize(Decimal("0.01")), n + 1


def _reveal_ratings(s: Session, r: RatingsRevealed) -> None:
    """Show the mission's ratings and add each to the rated party's reputation: the client's rating to the
    expert's, the expert's to the client organisation's; the expert completed one more mission."""
    expert = s.get(Expert, r.expert_id, with_for_update=True)
    org = s.get(Organisation, r.client_org_id, with_for_update=True)
    hidden = s.scalars(
        select(MissionRating).where(MissionRating.mission_id == r.mission_id, MissionRating.revealed_at.is_(None))
    )
    for rating in hidden:
        rating.revealed_at = r.at
        if rating.by == "client" and expert is not None:
            expert.rating, expert.ratings_count = _average(expert.rating, expert.ratings_count, rating.score)
        elif rating.by == "expert" and org is not None:
            org.rating, org.ratings_count = _average(org.rating, org.ratings_count, rating.score)
    if expert is not None:
        expert.completed_missions = (expert.completed_missions or 0) + 1
    s.flush()


def _apply_reply(s: Session, r: RatingReply) -> bool:
    rating = s.scalars(
        select(MissionRating).where(MissionRating.mission_id == r.mission_id, MissionRating.by == r.by)
    ).first()
    if rating is None or rating.replied_at is not None:
        return False
    rating.reply, rating.replied_at = r.reply, r.at
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
