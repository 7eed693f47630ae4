"""Matching: rank the expert directory for one need. Pure and deterministic, vectorised with numpy: every term
below is computed for the whole directory at once (``domain.matching_directory`` lays it out as columns).

Score of an expert for a need = base score + fair-exposure term.

* Hard filters (the expert is not ranked at all): lapsed membership, excluded ids (declined, removed, members
  of the client organisation), a required language missing.
* Base score = sum over criteria of weight x value, each value in [0, 1] (one function per criterion below),
  weights summing to 1.
* Qualified = base score >= ``QUALIFIED_THRESHOLD``. Only qualified experts get the fair-exposure term, a
  bonus of at most ``FAIR_EXPOSURE_MAX`` that shrinks with the expert's recent shortlists. Since every
  unqualified expert has a base below the threshold and the bonus is never negative, the term can never lift
  an unqualified expert above a qualified one; among qualified experts it can only reorder those whose base
  scores are less than ``FAIR_EXPOSURE_MAX`` apart.
* Ranking: best score first, equal scores by expert id, so the order never depends on the directory's order.

The explanation shown to the client (``domain.matching_explain``) reads the very arrays computed here. The tests
check every score and ranking against a small one-expert-at-a-time reference written in plain Python.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from domain.fx import RatesTable
from domain.matching_directory import Bools, DirectoryArrays, Floats, Ints, has_all_bits, has_any_bit, has_bit
from domain.need import Need
from domain.taxonomy import PROXIMITY_EXACT, PROXIMITY_FUNCTION, PROXIMITY_GROUP, Taxonomy, get_taxonomy

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


# --- the criteria: each a value in [0, 1] per expert of the directory -------------------------------------


def skills_value(q: MatchQuery, d: DirectoryArrays, tax: Taxonomy) -> Floats:
    """How well the expert's skills cover the requested ones: for each requested skill, the closest skill the
    expert holds (the same skill 1, one of its group 0.6, one of its business function 0.3, else 0), averaged
    over the requested skills."""
    acc: Floats = np.zeros(len(d), dtype=np.float64)
    for wanted in q.skills:
        skill = tax.skills[wanted]
        exact = has_bit(d.skill_bits, tax.skill_index[wanted])
        group = has_bit(d.group_bits, tax.group_index[skill.group])
        function = has_bit(d.skill_function_bits, tax.function_index[skill.function])
        closest = np.where(function, PROXIMITY_FUNCTION, 0.0)
        closest = np.where(group, PROXIMITY_GROUP, closest)
        acc = acc + np.where(exact, PROXIMITY_EXACT, closest)
    return acc / len(q.skills)


def function_value(q: MatchQuery, d: DirectoryArrays, tax: Taxonomy) -> Floats:
    """Whether the expert works in the need's business function: declared 1, only holding skills of it 0.5."""
    i = tax.function_index[q.function]
    return np.where(has_bit(d.declared_function_bits, i), 1.0, np.where(has_bit(d.skill_function_bits, i), 0.5, 0.0))


def speaks_required_languages(q: MatchQuery, d: DirectoryArrays) -> Bools:
    """Whether the expert speaks every language the need requires: a hard filter, not a score."""
    if any(lang not in d.languages for lang in q.languages):
        return np.zeros(len(d), dtype=bool)
    return has_all_bits(d.language_bits, [d.languages[lang] for lang in q.languages])


def languages_value(d: DirectoryArrays) -> Floats:
    """Languages: 1 for every ranked expert, since a missing required language filters the expert out. The
    criterion ranks nobody above anybody; it is listed so that the client sees languages among those checked."""
    return np.ones(len(d), dtype=np.float64)


def location_value(q: MatchQuery, d: DirectoryArrays) -> Floats:
    """Whether the expert can work where the need is. On-site in a wanted country (living there, or willing
    to work there): 1. A remote need also takes remote experts (1) and gives the others half (0.5)."""
    if q.countries:
        wanted = np.zeros(len(d.countries), dtype=bool)
        indexes = [d.countries[c] for c in q.countries if c in d.countries]
        wanted[indexes] = True
        on_site_ok = wanted[d.country] | has_any_bit(d.onsite_bits, indexes)
    else:
        on_site_ok = np.zeros(len(d), dtype=bool)
    if q.remote:
        return np.where(d.remote | on_site_ok, 1.0, 0.5)
    return np.where(on_site_ok, 1.0, 0.0)


def timezone_value(q: MatchQuery, d: DirectoryArrays) -> Floats:
    """Time-zone overlap: the share of a 9:00-18:00 working day the expert has in common with the client's."""
    diff = np.abs(d.utc_offset - q.reference_offset_minutes)
    diff = np.minimum(diff, 1440 - diff)
    overlap: Floats = np.maximum(0, WORKDAY_MINUTES - diff) / WORKDAY_MINUTES
    return overlap


def start_delay_days(q: MatchQuery, d: DirectoryArrays) -> Ints:
    """Days between the need's start and the day the expert becomes available (0 or less: in time)."""
    return d.available_from - q.start_ordinal


def availability_value(q: MatchQuery, d: DirectoryArrays, delay: Ints) -> Floats:
    """Availability: 70 % starting in time (falling linearly to 0 when the delay reaches the mission's
    duration), 30 % the days a week the expert offers out of a full week."""
    start_fit = np.where(delay <= 0, 1.0, np.maximum(0.0, 1.0 - delay / q.duration_days))
    days = np.minimum(d.days_per_week, FULL_WEEK_DAYS) / FULL_WEEK_DAYS
    return 0.7 * start_fit + 0.3 * days


def rate_in_need_currency(q: MatchQuery, d: DirectoryArrays, rates: RatesTable) -> Floats:
    """The expert's daily rate in the need's currency (a float, for scoring); NaN when no rate converts it."""
    known = q.currency in rates.per_base
    factors = np.array(
        [rates.factor(c, q.currency) if known and c in rates.per_base else np.nan for c in d.currencies],
        dtype=np.float64,
    )
    if not d.currencies:
        return np.zeros(len(d), dtype=np.float64)
    rate: Floats = d.daily_rate * factors[d.currency]
    return rate


def budget_value(q: MatchQuery, rate: Floats) -> Floats:
    """Budget fit: 1 up to the top of the budget, then falling to 0 at 50 % above it; 0 when the rate cannot
    be converted to the need's currency."""
    with np.errstate(invalid="ignore"):  # NaN rates compare false and are replaced by 0 below
        overrun = np.maximum(0.0, 1.0 - BUDGET_OVERRUN_SLOPE * ((rate - q.budget_max) / q.budget_max))
        return np.where(np.isnan(rate), 0.0, np.where(rate <= q.budget_max, 1.0, overrun))


def reputation_value(d: DirectoryArrays) -> Floats:
    """Rating and track record: 70 % the rating out of 5, shrunk towards an average prior while ratings are few,
    30 % completed missions (full credit at ``MISSIONS_FOR_FULL_CREDIT``)."""
    count = d.ratings_count
    shrunk = (d.rating * count + RATING_PRIOR * RATING_PRIOR_WEIGHT) / (count + RATING_PRIOR_WEIGHT)
    missions = np.minimum(d.completed, MISSIONS_FOR_FULL_CREDIT) / MISSIONS_FOR_FULL_CREDIT
    return 0.7 * (shrunk / 5.0) + 0.3 * missions


def fair_exposure_bonus(q: MatchQuery, d: DirectoryArrays, qualified: Bools) -> Floats:
    """Fair exposure: a bonus for qualified experts rarely shortlisted lately, ``FAIR_EXPOSURE_MAX`` for one
    never shortlisted, halved after one recent shortlist, a third after two, and so on; 0 for the others."""
    if not q.fair_exposure:
        return np.zeros(len(d), dtype=np.float64)
    return np.where(qualified, FAIR_EXPOSURE_MAX / (1.0 + d.recent_shortlists), 0.0)


# --- scoring and ranking ----------------------------------------------------------------------------------


@dataclass
class DirectoryScores:
    """Every expert's score for one need, with the terms it is made of (row i is ``d.profiles[i]``)."""

    eligible: Bools  # passes the hard filters
    values: dict[str, Floats]  # criterion -> value in [0, 1]
    base: Floats
    bonus: Floats
    score: Floats
    qualified: Bools
    rate: Floats  # daily rate in the need's currency, NaN when unknown
    start_delay: Ints  # days late for the start (0 or less: in time)

    def contributions(self, row: int) -> dict[str, float]:
        """Points each criterion adds to the row's score (weight x value), and the fair-exposure bonus."""
        out = {c: WEIGHTS[c] * float(self.values[c][row]) for c in CRITERIA}
        out[FAIR_EXPOSURE] = float(self.bonus[row])
        return out


def excluded_rows(q: MatchQuery, d: DirectoryArrays) -> Bools:
    """Experts the query leaves out by id (declined, removed by the client, members of the client's organisation)."""
    out = np.zeros(len(d), dtype=bool)
    out[[d.row_of[e] for e in q.excluded if e in d.row_of]] = True
    return out


def score_directory(
    q: MatchQuery, d: DirectoryArrays, rates: RatesTable, tax: Taxonomy | None = None
) -> DirectoryScores:
    """Every criterion, the hard filters, the base score, qualification and the fair-exposure bonus, for the whole
    directory at once."""
    tax = tax or get_taxonomy()
    delay = start_delay_days(q, d)
    rate = rate_in_need_currency(q, d, rates)
    values = {
        "skills": skills_value(q, d, tax),
        "function": function_value(q, d, tax),
        "languages": languages_value(d),
        "location": location_value(q, d),
        "timezone": timezone_value(q, d),
        "availability": availability_value(q, d, delay),
        "budget": budget_value(q, rate),
        "reputation": reputation_value(d),
    }
    eligible = d.active & speaks_required_languages(q, d) & ~excluded_rows(q, d)
    base: Floats = np.zeros(len(d), dtype=np.float64)
    for c in CRITERIA:
        base = base + WEIGHTS[c] * values[c]
    qualified = base >= QUALIFIED_THRESHOLD
    bonus = fair_exposure_bonus(q, d, qualified)
    return DirectoryScores(eligible, values, base, bonus, base + bonus, qualified, rate, delay)


def top_rows(scores: DirectoryScores, id_rank: Ints, k: int) -> Ints:
    """Rows of the ``k`` best eligible experts, best first, equal scores by expert id."""
    rows = np.flatnonzero(scores.eligible)
    if k <= 0 or rows.size == 0:
        return np.empty(0, dtype=np.int64)
    s = scores.score[rows]
    if rows.size > k:
        kth = np.partition(s, rows.size - k)[rows.size - k]
        keep = s >= kth  # ties at the boundary are all kept, then ordered by id
        rows, s = rows[keep], s[keep]
    order = np.lexsort((id_rank[rows], -s))
    return np.asarray(rows[order][:k], dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Scored:
    expert_id: uuid.UUID
    base: float
    bonus: float
    score: float
    qualified: bool
    contributions: dict[str, float] = field(default_factory=dict)


def scored_row(d: DirectoryArrays, scores: DirectoryScores, row: int) -> Scored:
    return Scored(
        d.profiles[row].id,
        float(scores.base[row]),
        float(scores.bonus[row]),
        float(scores.score[row]),
        bool(scores.qualified[row]),
        scores.contributions(row),
    )


def rank(q: MatchQuery, d: DirectoryArrays, rates: RatesTable, k: int, tax: Taxonomy | None = None) -> list[Scored]:
    """The ``k`` best experts of the directory for the query, best first."""
    scores = score_directory(q, d, rates, tax)
    return [scored_row(d, scores, int(r)) for r in top_rows(scores, d.id_rank, k)]
