"""SQL side of matching: load the directory (active experts, indexed filter), fetch fresh rows by id, tell when
the directory changed, and find the experts who belong to the client organisation (never matched to it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, func, insert, select, update
from sqlalchemy.orm import Session

from domain.matching_directory import ExpertProfile
from store.models.community import Expert, Organisation, User
from store.models.matching import ShortlistExposure

_COLUMNS = (
    Expert.id,
    Expert.business_functions,
    Expert.skills,
    Expert.languages,
    Expert.country,
    Expert.countries,
    Expert.remote,
    Expert.utc_offset_minutes,
    Expert.daily_rate,
    Expert.currency,
    Expert.available_from,
    Expert.available_days_per_week,
    Expert.rating,
    Expert.ratings_count,
    Expert.completed_missions,
    Expert.recent_shortlists,
    Expert.membership_active,
)


def _profile(row: Row[Any]) -> ExpertProfile:
    return ExpertProfile(
        id=row[0],
        business_functions=tuple(row[1] or ()),
        skills=tuple(row[2] or ()),
        languages=tuple(lang.lower() for lang in row[3] or ()),
        country=row[4].upper(),
        countries=tuple(c.upper() for c in row[5] or ()),
        remote=bool(row[6]),
        utc_offset_minutes=int(row[7]),
        daily_rate=row[8],
        currency=row[9],
        available_from=row[10],
        available_days_per_week=int(row[11]),
        rating=row[12],
        ratings_count=int(row[13]),
        completed_missions=int(row[14]),
        recent_shortlists=int(row[15]),
        membership_active=bool(row[16]),
    )


def active_experts_query() -> Select[Any]:
    """The pre-filter every ranking starts from: members in good standing (indexed column)."""
    return select(*_COLUMNS).where(Expert.membership_active.is_(True))


def recent_exposure_query() -> Select[Any]:
    """Each active expert's recent exposure: what the matching cache re-reads between reloads."""
    return select(Expert.id, Expert.recent_shortlists).where(Expert.membership_active.is_(True))


def load_active_profiles(session: Session) -> list[ExpertProfile]:
    return [_profile(row) for row in session.execute(active_experts_query().order_by(Expert.id))]


def fetch_profiles(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ExpertProfile]:
    """Current rows of the given experts (active or not): the last word before a shortlist goes out."""
    if not ids:
        return {}
    return {p.id: p for p in map(_profile, session.execute(select(*_COLUMNS).where(Expert.id.in_(list(ids)))))}


@dataclass(frozen=True, slots=True)
class DirectorySignature:
    """Changes with every change to the experts committed since it was read: an expert added (count, last
    creation), any row updated (the sum of the rows' revisions, each +1 at every UPDATE: a membership activated or
    lapsed, a profile edited), or removed (count). A counter, not a clock: no change can hide behind another made
    in the same instant, nor behind a timestamp taken before an earlier commit."""

    count: int
    revisions: int
    last_created_at: datetime | None


def directory_signature(session: Session) -> DirectorySignature:
    count, revisions, last = session.execute(
        select(func.count(Expert.id), func.coalesce(func.sum(Expert.revision), 0), func.max(Expert.created_at))
    ).one()
    return DirectorySignature(int(count), int(revisions), last)


def client_org_expert_ids(session: Session, client_org_id: uuid.UUID) -> set[uuid.UUID]:
    """Experts whose user account belongs to the client organisation: they never appear in its shortlists."""
    rows = session.execute(
        select(User.expert_id).where(User.organisation_id == client_org_id, User.expert_id.is_not(None))
    )
    return {r[0] for r in rows}


def organisation_country(session: Session, org_id: uuid.UUID) -> str | None:
    return session.execute(select(Organisation.country).where(Organisation.id == org_id)).scalar_one_or_none()


def profiles_of(rows: Iterable[Row[Any]]) -> list[ExpertProfile]:
    return [_profile(r) for r in rows]


def record_exposure(session: Session, mission_id: uuid.UUID, expert_ids: Sequence[uuid.UUID], at: datetime) -> int:
    """Count one exposure per (mission, expert) and bump ``recent_shortlists`` of the newly exposed experts, in
    the caller's transaction. Idempotent: a repeat for the same mission counts nothing. Returns the number of
    new exposures."""
    wanted = list(dict.fromkeys(expert_ids))
    if not wanted:
        return 0
    known = set(
        session.scalars(
            select(ShortlistExposure.expert_id).where(
                ShortlistExposure.mission_id == mission_id, ShortlistExposure.expert_id.in_(wanted)
            )
        )
    )
    new = [e for e in wanted if e not in known]
    if new:
        session.execute(insert(ShortlistExposure), [{"mission_id": mission_id, "expert_id": e, "at": at} for e in new])
        # the exposure alone does not make the matching cache reload (revision kept): the cache only proposes, and the
        # proposed experts are scored again on their current rows (activities.matching)
        session.execute(
            update(Expert)
            .where(Expert.id.in_(new))
            .values(recent_shortlists=Expert.recent_shortlists + 1, revision=Expert.revision)
        )
    return len(new)


def refresh_recent_shortlists(session: Session, now: datetime, window_days: int = 90) -> None:
    """Recompute every expert's ``recent_shortlists`` over the fairness window (a periodic job), so that old
    exposure stops counting."""
    recent = (
        select(func.count(ShortlistExposure.id))
        .where(ShortlistExposure.expert_id == Expert.id, ShortlistExposure.at >= now - timedelta(days=window_days))
        .scalar_subquery()
    )
    # revision kept: the matching cache re-reads the exposure column on its own (activities.matching)
    session.execute(update(Expert).values(recent_shortlists=recent, revision=Expert.revision))


@dataclass(frozen=True, slots=True)
class ExposureFigures:
    """How evenly the shortlists of a period spread over the active directory."""

    days: int
    shortlists: int  # missions that showed a shortlist in the period
    exposures: int
    active_experts: int
    experts_shown: int  # active experts shown at least once
    gini: float  # 0: every active expert shown as often; near 1: a few experts get every exposure

    @property
    def share_shown(self) -> float:
        return self.experts_shown / self.active_experts if self.active_experts else 0.0


def gini(counts: Sequence[int], zeros: int = 0) -> float:
    """Gini coefficient of non-negative counts, plus `zeros` more zero counts: 0 for a perfectly even spread."""
    x = sorted(c for c in counts if c > 0)
    n, total = len(counts) + zeros, sum(x)
    if n == 0 or total == 0:
        return 0.0
    first_rank = n - len(x) + 1  # the zeros take the lowest ranks and weigh nothing
    weighted = sum(rank * v for rank, v in enumerate(x, start=first_rank))
    return 2.0 * weighted / (n * total) - (n + 1.0) / n


def exposure_figures(session: Session, now: datetime, days: int = 30) -> ExposureFigures:
    """The exposure of the active experts over the ``days`` before ``now``, from the recorded shortlists; an
    active expert never shown counts as a zero (only the experts shown are read: the zeros are counted)."""
    since = now - timedelta(days=days)
    in_period = (ShortlistExposure.at >= since, ShortlistExposure.at <= now)
    counts = [
        int(c)
        for c in session.scalars(
            select(func.count(ShortlistExposure.id))
            .join(Expert, Expert.id == ShortlistExposure.expert_id)
            .where(*in_period, Expert.membership_active.is_(True))
            .group_by(ShortlistExposure.expert_id)
        )
    ]
    shortlists = session.scalar(select(func.count(func.distinct(ShortlistExposure.mission_id))).where(*in_period))
    active = int(session.scalar(select(func.count(Expert.id)).where(Expert.membership_active.is_(True))) or 0)
    return ExposureFigures(
        days=days,
        shortlists=int(shortlists or 0),
        exposures=sum(counts),
        active_experts=active,
        experts_shown=len(counts),
        gini=gini(counts, zeros=max(0, active - len(counts))),
    )
