"""Matching scores: pure and deterministic. This module is the reference (one expert at a time, plain Python);
``domain.matching_vector`` computes the same numbers over the whole directory with numpy, with the very same
floating-point operations in the same order, so both rank identically.

Score of an expert for a need = base score + fair-exposure term.

* Hard filters (the expert is not ranked at all): lapsed membership, excluded ids (declined, removed, members
  of the client organisation), a required language missing.
* Base score = sum over criteria of weight x value, each value in [0, 1], weights summing to 1.
* Qualified = base score >= ``QUALIFIED_THRESHOLD``. Only qualified experts get the fair-exposure term, a
  bonus of at most ``FAIR_EXPOSURE_MAX`` that shrinks with the expert's recent shortlists. Since every
  unqualified expert has a base below the threshold and the bonus is never negative, the term can never lift
  an unqualified expert above a qualified one; among qualified experts it can only reorder those whose base
  scores are less than ``FAIR_EXPOSURE_MAX`` apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from domain.fx import RatesTable
from domain.need import Need
from domain.taxonomy import Taxonomy, get_taxonomy

WEIGHTS: Mapping[str, float] = {
    "skills": 0.30,
    "function": 0.10,
    "languages": 0.05,
    "location": 0.10,
    "timezone": 0.05,
    "availability": 0.15,
    "budget": 0.15,
    "reputation": 0.10,
}
CRITERIA: tuple[str, ...] = tuple(WEIGHTS)
FAIR_EXPOSURE = "fair_exposure"
QUALIFIED_THRESHOLD = 0.70
FAIR_EXPOSURE_MAX = 0.10

WORKDAY_MINUTES = 540  # 9:00-18:00 local: overlap of two such days shrinks with the offset difference
FULL_WEEK_DAYS = 5
RATING_PRIOR = 3.5  # a new expert is assumed average until ratings come in
RATING_PRIOR_WEIGHT = 3
MISSIONS_FOR_FULL_CREDIT = 20
BUDGET_OVERRUN_SLOPE = 2.0  # 50 % above the top of the budget -> budget value 0


@dataclass(frozen=True, slots=True)
class ExpertProfile:
    """What matching needs to know about one expert (a projection of the ``experts`` row)."""

    id: uuid.UUID
    business_functions: tuple[str, ...]
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    country: str
    countries: tuple[str, ...]
    remote: bool
    utc_offset_minutes: int
    daily_rate: Decimal
    currency: str
    available_from: date
    available_days_per_week: int
    rating: Decimal
    ratings_count: int
    completed_missions: int
    recent_shortlists: int
    membership_active: bool = True


@dataclass(frozen=True, slots=True)
class MatchQuery:
    """A need compiled for scoring (taxonomy keys, floats for the budget, day ordinals)."""

    function: str
    skills: tuple[str, ...]
    languages: frozenset[str]
    countries: frozenset[str]
    remote: bool
    budget_max: float
    currency: str
    start_ordinal: int
    duration_days: int
    reference_offset_minutes: int
    excluded: frozenset[uuid.UUID] = frozenset()
    fair_exposure: bool = True


@dataclass(frozen=True, slots=True)
class Scored:
    expert_id: uuid.UUID
    base: float
    bonus: float
    score: float
    qualified: bool
    contributions: dict[str, float] = field(default_factory=dict)


def compile_query(
    need: Need,
    *,
    excluded: Iterable[uuid.UUID] = (),
    reference_offset_minutes: int,
    fair_exposure: bool = True,
) -> MatchQuery:
    """``need`` must already be normalised (``domain.taxonomy.normalise_need``)."""
    return MatchQuery(
        function=need.business_function,
        skills=tuple(dict.fromkeys(need.skills)),
        languages=frozenset(need.languages),
        countries=frozenset(need.countries),
        remote=need.remote,
        budget_max=float(need.budget_max),
        currency=need.currency,
        start_ordinal=need.start_date.toordinal(),
        duration_days=need.duration_days,
        reference_offset_minutes=reference_offset_minutes,
        excluded=frozenset(excluded),
        fair_exposure=fair_exposure,
    )


# --- criteria, one expert at a time ---------------------------------------------------------------------


def skills_value(q: MatchQuery, e: ExpertProfile, tax: Taxonomy) -> float:
    acc = 0.0
    for wanted in q.skills:
        acc = acc + max((tax.proximity(wanted, offered) for offered in e.skills), default=0.0)
    return acc / len(q.skills)


def function_value(q: MatchQuery, e: ExpertProfile, tax: Taxonomy) -> float:
    if q.function in e.business_functions:
        return 1.0
    if any(s in tax.skills and tax.skills[s].function == q.function for s in e.skills):
        return 0.5
    return 0.0


def location_value(q: MatchQuery, e: ExpertProfile) -> float:
    on_site_ok = bool(q.countries) and (e.country in q.countries or not q.countries.isdisjoint(e.countries))
    if q.remote:
        return 1.0 if (e.remote or on_site_ok) else 0.5
    return 1.0 if on_site_ok else 0.0


def timezone_value(q: MatchQuery, e: ExpertProfile) -> float:
    diff = abs(e.utc_offset_minutes - q.reference_offset_minutes)
    diff = min(diff, 1440 - diff)
    return max(0, WORKDAY_MINUTES - diff) / WORKDAY_MINUTES


def availability_value(q: MatchQuery, e: ExpertProfile) -> float:
    delay = e.available_from.toordinal() - q.start_ordinal
    start_fit = 1.0 if delay <= 0 else max(0.0, 1.0 - delay / q.duration_days)
    days = min(e.available_days_per_week, FULL_WEEK_DAYS) / FULL_WEEK_DAYS
    return 0.7 * start_fit + 0.3 * days


def rate_in(q: MatchQuery, e: ExpertProfile, rates: RatesTable) -> float | None:
    """The expert's daily rate in the need's currency (float, for scoring), None if no rate is known."""
    if e.currency not in rates.per_base or q.currency not in rates.per_base:
        return None
    return float(e.daily_rate) * rates.factor(e.currency, q.currency)


def budget_value(q: MatchQuery, e: ExpertProfile, rates: RatesTable) -> float:
    rate = rate_in(q, e, rates)
    if rate is None:
        return 0.0
    if rate <= q.budget_max:
        return 1.0
    return max(0.0, 1.0 - BUDGET_OVERRUN_SLOPE * ((rate - q.budget_max) / q.budget_max))


def reputation_value(e: ExpertProfile) -> float:
    count = e.ratings_count
    shrunk = (float(e.rating) * count + RATING_PRIOR * RATING_PRIOR_WEIGHT) / (count + RATING_PRIOR_WEIGHT)
    missions = min(e.completed_missions, MISSIONS_FOR_FULL_CREDIT) / MISSIONS_FOR_FULL_CREDIT
    return 0.7 * (shrunk / 5.0) + 0.3 * missions


def fair_exposure_bonus(recent_shortlists: int) -> float:
    return FAIR_EXPOSURE_MAX / (1.0 + recent_shortlists)


def passes_hard_filters(q: MatchQuery, e: ExpertProfile) -> bool:
    return e.membership_active and e.id not in q.excluded and q.languages.issubset(e.languages)


def score_expert(q: MatchQuery, e: ExpertProfile, rates: RatesTable, tax: Taxonomy | None = None) -> Scored | None:
    """The expert's score for the query, or None when a hard filter excludes them."""
    if not passes_hard_filters(q, e):
        return None
    tax = tax or get_taxonomy()
    values = {
        "skills": skills_value(q, e, tax),
        "function": function_value(q, e, tax),
        "languages": 1.0,
        "location": location_value(q, e),
        "timezone": timezone_value(q, e),
        "availability": availability_value(q, e),
        "budget": budget_value(q, e, rates),
        "reputation": reputation_value(e),
    }
    contributions = {c: WEIGHTS[c] * values[c] for c in CRITERIA}
    base = 0.0
    for c in CRITERIA:
        base = base + contributions[c]
    qualified = base >= QUALIFIED_THRESHOLD
    bonus = fair_exposure_bonus(e.recent_shortlists) if (q.fair_exposure and qualified) else 0.0
    contributions[FAIR_EXPOSURE] = bonus
    return Scored(e.id, base, bonus, base + bonus, qualified, contributions)


def rank_key(s: Scored) -> tuple[float, str]:
    """Best first; equal scores by expert id, so the order never depends on input order."""
    return (-s.score, str(s.expert_id))


def rank_naive(
    q: MatchQuery, experts: Iterable[ExpertProfile], rates: RatesTable, k: int, tax: Taxonomy | None = None
) -> list[Scored]:
    """The top ``k`` experts, scored one by one in plain Python: the reference the vectorised ranking must match."""
    tax = tax or get_taxonomy()
    scored = [s for e in experts if (s := score_expert(q, e, rates, tax)) is not None]
    scored.sort(key=rank_key)
    return scored[:k]
