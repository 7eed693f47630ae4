"""The matching score written the plain way, one expert at a time: the reference ``domain.matching`` (vectorised)
must agree with, to the last bit of every score.

It shares the weights, constants and types of ``domain.matching`` (they are the specification) but none of its
code. The arithmetic follows the same float64 operations in the same order, which is why scores can be compared
with ``==``: a difference is a bug in one of the two, never rounding.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.fx import RatesTable
from domain.matching import (
    BUDGET_OVERRUN_SLOPE,
    CRITERIA,
    FAIR_EXPOSURE,
    FAIR_EXPOSURE_MAX,
    FULL_WEEK_DAYS,
    MISSIONS_FOR_FULL_CREDIT,
    QUALIFIED_THRESHOLD,
    RATING_PRIOR,
    RATING_PRIOR_WEIGHT,
    WEIGHTS,
    WORKDAY_MINUTES,
    MatchQuery,
    Scored,
)
from domain.matching_directory import ExpertProfile
from domain.taxonomy import Taxonomy, get_taxonomy


def skills(q: MatchQuery, e: ExpertProfile, tax: Taxonomy) -> float:
    acc = 0.0
    for wanted in q.skills:
        acc = acc + max((tax.proximity(wanted, offered) for offered in e.skills), default=0.0)
    return acc / len(q.skills)


def function(q: MatchQuery, e: ExpertProfile, tax: Taxonomy) -> float:
    if q.function in e.business_functions:
        return 1.0
    if any(s in tax.skills and tax.skills[s].function == q.function for s in e.skills):
        return 0.5
    return 0.0


def location(q: MatchQuery, e: ExpertProfile) -> float:
    on_site_ok = bool(q.countries) and (e.country in q.countries or not q.countries.isdisjoint(e.countries))
    if q.remote:
        return 1.0 if (e.remote or on_site_ok) else 0.5
    return 1.0 if on_site_ok else 0.0


def timezone(q: MatchQuery, e: ExpertProfile) -> float:
    diff = abs(e.utc_offset_minutes - q.reference_offset_minutes)
    diff = min(diff, 1440 - diff)
    return max(0, WORKDAY_MINUTES - diff) / WORKDAY_MINUTES


def availability(q: MatchQuery, e: ExpertProfile) -> float:
    delay = e.available_from.toordinal() - q.start_ordinal
    start_fit = 1.0 if delay <= 0 else max(0.0, 1.0 - delay / q.duration_days)
    days = min(e.available_days_per_week, FULL_WEEK_DAYS) / FULL_WEEK_DAYS
    return 0.7 * start_fit + 0.3 * days


def budget(q: MatchQuery, e: ExpertProfile, rates: RatesTable) -> float:
    if e.currency not in rates.per_base or q.currency not in rates.per_base:
        return 0.0
    rate = float(e.daily_rate) * rates.factor(e.currency, q.currency)
    if rate <= q.budget_max:
        return 1.0
    return max(0.0, 1.0 - BUDGET_OVERRUN_SLOPE * ((rate - q.budget_max) / q.budget_max))


def reputation(e: ExpertProfile) -> float:
    count = e.ratings_count
    shrunk = (float(e.rating) * count + RATING_PRIOR * RATING_PRIOR_WEIGHT) / (count + RATING_PRIOR_WEIGHT)
    missions = min(e.completed_missions, MISSIONS_FOR_FULL_CREDIT) / MISSIONS_FOR_FULL_CREDIT
    return 0.7 * (shrunk / 5.0) + 0.3 * missions


def score_expert(q: MatchQuery, e: ExpertProfile, rates: RatesTable, tax: Taxonomy | None = None) -> Scored | None:
    """The expert's score for the query, or None when a hard filter excludes them."""
    if not e.membership_active or e.id in q.excluded or not q.languages.issubset(e.languages):
        return None
    tax = tax or get_taxonomy()
    values = {
        "skills": skills(q, e, tax),
        "function": function(q, e, tax),
        "languages": 1.0,  # every required language is spoken, or the expert was filtered out above
        "location": location(q, e),
        "timezone": timezone(q, e),
        "availability": availability(q, e),
        "budget": budget(q, e, rates),
        "reputation": reputation(e),
    }
    contributions = {c: WEIGHTS[c] * values[c] for c in CRITERIA}
    base = 0.0
    for c in CRITERIA:
        base = base + contributions[c]
    qualified = base >= QUALIFIED_THRESHOLD
    bonus = FAIR_EXPOSURE_MAX / (1.0 + e.recent_shortlists) if (q.fair_exposure and qualified) else 0.0
    contributions[FAIR_EXPOSURE] = bonus
    return Scored(e.id, base, bonus, base + bonus, qualified, contributions)


def rank(
    q: MatchQuery, experts: Iterable[ExpertProfile], rates: RatesTable, k: int, tax: Taxonomy | None = None
) -> list[Scored]:
    """The top ``k``: best score first, equal scores by expert id."""
    scored = [s for e in experts if (s := score_expert(q, e, rates, tax)) is not None]
    scored.sort(key=lambda s: (-s.score, str(s.expert_id)))
    return scored[:k]
