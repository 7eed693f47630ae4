"""What ops ask of the read model at a glance, each answered by SQL aggregates (never by loading every mission):
missions per stage and per age, overdue deadlines, what needs attention, membership fees not yet paid, missions
entering each stage week by week, and the time spent in each stage."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, Float, case, cast, func, or_, select
from sqlalchemy.orm import Session

from domain.stages import TERMINAL, Stage
from store.models.community import Membership
from store.models.readmodel import MissionRecord, Task, TimelineEvent

STAGE_ORDER = [s.value for s in Stage]
OPEN = MissionRecord.stage.not_in([s.value for s in TERMINAL])
# an open mission's age, since its need was posted: (key, lower bound in days, upper bound or None)
AGE_BUCKETS = (("week", 0, 7), ("month", 7, 30), ("quarter", 30, 90), ("older", 90, None))


def _in_stage_order(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Every known stage (zero when empty), then any stage the read model holds that this code does not know."""
    unknown = sorted((s, n) for s, n in counts.items() if s not in STAGE_ORDER)
    return [(s, counts.get(s, 0)) for s in STAGE_ORDER] + unknown


def stage_counts(session: Session) -> list[tuple[str, int]]:
    """Missions per stage, in the order of the stages."""
    rows = session.execute(select(MissionRecord.stage, func.count()).group_by(MissionRecord.stage)).all()
    return _in_stage_order({str(stage): int(n) for stage, n in rows})


def age_counts(session: Session, *, now: datetime) -> list[tuple[str, int]]:
    """Open missions (neither closed nor cancelled) by the age of their need: (bucket key, count)."""
    bucket = case(
        *((MissionRecord.created_at > now - timedelta(days=upper), key) for key, _, upper in AGE_BUCKETS if upper),
        else_=AGE_BUCKETS[-1][0],
    )
    rows = session.execute(select(bucket, func.count()).where(OPEN).group_by(bucket)).all()
    found = {str(key): int(n) for key, n in rows}
    return [(key, found.get(key, 0)) for key, _, _ in AGE_BUCKETS]


@dataclass(frozen=True)
class Late:
    id: uuid.UUID
    title: str
    stage: str
    deadline: datetime
    paused: bool


def overdue(session: Session, *, now: datetime, limit: int = 50) -> tuple[int, list[Late]]:
    """Open missions whose next deadline has passed, oldest deadline first: (how many, the first `limit`)."""
    late = (MissionRecord.next_deadline < now) & OPEN
    total = int(session.scalar(select(func.count()).select_from(MissionRecord).where(late)) or 0)
    rows = session.execute(
        select(MissionRecord.id, MissionRecord.title, MissionRecord.stage, MissionRecord.next_deadline)
        .add_columns(MissionRecord.paused)
        .where(late)
        .order_by(MissionRecord.next_deadline)
        .limit(limit)
    ).all()
    return total, [Late(r.id, r.title, r.stage, r.next_deadline, r.paused) for r in rows if r.next_deadline]


@dataclass(frozen=True)
class Attention:
    stuck: int  # missions in needs_attention (a step failed for good, ops must decide)
    disputed: int
    paused: int  # open missions paused by ops
    ops_tasks: int  # open tasks addressed to ops
    ops_tasks_overdue: int


def attention(session: Session, *, now: datetime) -> Attention:
    missions = session.execute(
        select(
            func.count().filter(MissionRecord.stage == Stage.NEEDS_ATTENTION.value),
            func.count().filter(MissionRecord.stage == Stage.DISPUTED.value),
            func.count().filter(MissionRecord.paused.is_(True) & OPEN),
        )
    ).one()
    tasks = session.execute(
        select(func.count(), func.count().filter(Task.due_at < now)).where(Task.closed_at.is_(None), Task.role == "ops")
    ).one()
    return Attention(int(missions[0]), int(missions[1]), int(missions[2]), int(tasks[0]), int(tasks[1]))


@dataclass(frozen=True)
class PendingFees:
    community: str  # client_organisation | expert
    currency: str
    members: int
    total: Decimal
    oldest: datetime | None


def pending_fees(session: Session) -> list[PendingFees]:
    """Memberships whose registration fee is not paid yet, per community and currency."""
    rows = session.execute(
        select(
            Membership.community,
            Membership.currency,
            func.count(),
            func.coalesce(func.sum(Membership.fee_amount), 0),
            func.min(Membership.created_at),
        )
        .where(Membership.status == "pending")
        .group_by(Membership.community, Membership.currency)
        .order_by(Membership.community, Membership.currency)
    ).all()
    cent = Decimal("0.01")
    return [PendingFees(c, cur, int(n), Decimal(total).quantize(cent), oldest) for c, cur, n, total, oldest in rows]


_STAGE_EVENT = or_(TimelineEvent.kind.like("stage:%"), TimelineEvent.kind == "need_submitted")
_MISSION_EVENT = TimelineEvent.workflow_id.not_like("%:milestone:%")  # a milestone's own stages are not the mission's


def _entered() -> ColumnElement[str]:
    """The stage a stage event enters: `stage:<stage>`, or `need` for the posted need."""
    kind = TimelineEvent.kind
    return case((kind == "need_submitted", Stage.NEED.value), else_=func.substr(kind, len("stage:") + 1))


@dataclass(frozen=True)
class Weekly:
    weeks: list[datetime]  # the first moment of each week, oldest first
    stages: list[tuple[str, list[int]]]  # per stage, how many missions entered it in each week


def entries_per_week(session: Session, *, now: datetime, weeks: int = 8) -> Weekly:
    """Missions entering each stage, in each of the last `weeks` seven-day periods (the last one ends now)."""
    starts = [now - timedelta(days=7 * (weeks - i)) for i in range(weeks)]
    week = case(*((TimelineEvent.at >= start, i) for i, start in reversed(list(enumerate(starts)))), else_=-1)
    stage = _entered()
    rows = session.execute(
        select(stage, week, func.count(func.distinct(TimelineEvent.mission_id)))
        .where(_STAGE_EVENT, _MISSION_EVENT, TimelineEvent.at >= starts[0], TimelineEvent.at <= now)
        .group_by(stage, week)
    ).all()
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * weeks)
    for name, index, n in rows:
        if 0 <= int(index) < weeks:
            counts[str(name)][int(index)] += int(n)
    known = [(s, counts[s]) for s in STAGE_ORDER if s in counts]
    return Weekly(starts, known + sorted((s, v) for s, v in counts.items() if s not in STAGE_ORDER))


def _hours_between(
    session: Session, start: ColumnElement[datetime], end: ColumnElement[datetime]
) -> ColumnElement[float]:
    if session.get_bind().dialect.name == "sqlite":
        return cast((func.julianday(end) - func.julianday(start)) * 24.0, Float)
    return cast(func.extract("epoch", end - start) / 3600.0, Float)


def hours_per_stage(session: Session) -> list[tuple[str, float, int]]:
    """Average hours a mission spent in each stage it left, from its timeline (a stage lasts from the event that
    entered it to the next such event): (stage, average hours, how many stays), in the order of the stages."""
    entered = _entered().label("stage")
    left = func.lead(TimelineEvent.at).over(
        partition_by=TimelineEvent.mission_id, order_by=(TimelineEvent.at, TimelineEvent.seq)
    )
    stays = (
        select(entered, TimelineEvent.at.label("at"), left.label("left_at"))
        .where(_STAGE_EVENT, _MISSION_EVENT)
        .subquery()
    )
    hours = _hours_between(session, stays.c.at, stays.c.left_at)
    rows = session.execute(
        select(stays.c.stage, func.avg(hours), func.count()).where(stays.c.left_at.is_not(None)).group_by(stays.c.stage)
    ).all()
    found = {str(s): (float(h or 0.0), int(n)) for s, h, n in rows}
    order = STAGE_ORDER + sorted(set(found) - set(STAGE_ORDER))
    return [(s, *found[s]) for s in order if s in found]
