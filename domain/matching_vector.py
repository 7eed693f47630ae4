"""The whole directory as numpy arrays, scored in one pass per need.

Every criterion mirrors ``domain.matching`` operation for operation (same float64 arithmetic, same order of
additions), so the vectorised ranking and the reference ranking agree exactly; the tests and the bench check it.
Set-valued fields (skills, languages, countries) are bitsets of 64-bit words over a vocabulary.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

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
    ExpertProfile,
    MatchQuery,
    Scored,
)
from domain.taxonomy import PROXIMITY_EXACT, PROXIMITY_FUNCTION, PROXIMITY_GROUP, Taxonomy, get_taxonomy

Bits = npt.NDArray[np.uint64]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
_MASK64 = (1 << 64) - 1
_ONE = np.uint64(1)


def _words(n_bits: int) -> int:
    return max(1, (n_bits + 63) // 64)


def _pack(masks: list[int], n_words: int) -> Bits:
    out = np.zeros((len(masks), n_words), dtype=np.uint64)
    for w in range(n_words):
        shift = 64 * w
        out[:, w] = np.fromiter(((m >> shift) & _MASK64 for m in masks), dtype=np.uint64, count=len(masks))
    return out


def _bit(bits: Bits, index: int) -> Bools:
    return ((bits[:, index >> 6] >> np.uint64(index & 63)) & _ONE).astype(bool)


def _any(bits: Bits, wanted: list[int]) -> Bools:
    mask = 0
    for i in wanted:
        mask |= 1 << i
    words = np.array([(mask >> (64 * w)) & _MASK64 for w in range(bits.shape[1])], dtype=np.uint64)
    return np.asarray((bits & words).any(axis=1))


def _all(bits: Bits, wanted: list[int]) -> Bools:
    mask = 0
    for i in wanted:
        mask |= 1 << i
    words = np.array([(mask >> (64 * w)) & _MASK64 for w in range(bits.shape[1])], dtype=np.uint64)
    return np.asarray(((bits & words) == words).all(axis=1))


@dataclass
class DirectoryArrays:
    """Column arrays of the directory, row i describing ``profiles[i]``."""

    profiles: list[ExpertProfile]
    row_of: dict[uuid.UUID, int]
    id_rank: Ints  # rank of str(id): the tie-break of the reference ranking
    skill_bits: Bits
    group_bits: Bits
    skill_function_bits: Bits  # functions in which the expert holds at least one skill
    declared_function_bits: Bits
    languages: dict[str, int]
    language_bits: Bits
    countries: dict[str, int]
    country: Ints  # index in ``countries``
    onsite_bits: Bits  # countries where on-site work is possible (own country excluded)
    remote: Bools
    utc_offset: Ints
    daily_rate: Floats
    currencies: list[str]
    currency: Ints
    available_from: Ints  # date ordinals
    days_per_week: Ints
    rating: Floats
    ratings_count: Ints
    completed: Ints
    recent_shortlists: Ints
    active: Bools

    def __len__(self) -> int:
        return len(self.profiles)

    @classmethod
    def build(cls, profiles: Sequence[ExpertProfile], tax: Taxonomy | None = None) -> DirectoryArrays:
        tax = tax or get_taxonomy()
        profiles = list(profiles)
        languages = {c: i for i, c in enumerate(sorted({lang for p in profiles for lang in p.languages}))}
        countries = {
            c: i
            for i, c in enumerate(sorted({p.country for p in profiles} | {c for p in profiles for c in p.countries}))
        }
        currencies = sorted({p.currency for p in profiles})
        currency_index = {c: i for i, c in enumerate(currencies)}
        skill_masks, group_masks, sfunc_masks, dfunc_masks, lang_masks, onsite_masks = [], [], [], [], [], []
        for p in profiles:
            sm = gm = fm = 0
            for s in p.skills:
                skill = tax.skills.get(s)
                if skill is not None:
                    sm |= 1 << tax.skill_index[s]
                    gm |= 1 << tax.group_index[skill.group]
                    fm |= 1 << tax.function_index[skill.function]
            skill_masks.append(sm)
            group_masks.append(gm)
            sfunc_masks.append(fm)
            dm = 0
            for f in p.business_functions:
                if f in tax.function_index:
                    dm |= 1 << tax.function_index[f]
            dfunc_masks.append(dm)
            lm = 0
            for lang in p.languages:
                lm |= 1 << languages[lang]
            lang_masks.append(lm)
            om = 0
            for c in p.countries:
                om |= 1 << countries[c]
            onsite_masks.append(om)
        n_fn = _words(len(tax.function_keys))
        ids = [str(p.id) for p in profiles]
        order = sorted(range(len(ids)), key=ids.__getitem__)
        id_rank = np.empty(len(ids), dtype=np.int64)
        id_rank[order] = np.arange(len(ids), dtype=np.int64)

        def ints(values: list[int]) -> Ints:
            return np.array(values, dtype=np.int64)

        return cls(
            profiles=profiles,
            row_of={p.id: i for i, p in enumerate(profiles)},
            id_rank=id_rank,
            skill_bits=_pack(skill_masks, _words(len(tax.skill_keys))),
            group_bits=_pack(group_masks, _words(len(tax.group_keys))),
            skill_function_bits=_pack(sfunc_masks, n_fn),
            declared_function_bits=_pack(dfunc_masks, n_fn),
            languages=languages,
            language_bits=_pack(lang_masks, _words(len(languages))),
            countries=countries,
            country=ints([countries[p.country] for p in profiles]),
            onsite_bits=_pack(onsite_masks, _words(len(countries))),
            remote=np.array([p.remote for p in profiles], dtype=bool),
            utc_offset=ints([p.utc_offset_minutes for p in profiles]),
            daily_rate=np.array([float(p.daily_rate) for p in profiles], dtype=np.float64),
            currencies=currencies,
            currency=ints([currency_index[p.currency] for p in profiles]),
            available_from=ints([p.available_from.toordinal() for p in profiles]),
            days_per_week=ints([p.available_days_per_week for p in profiles]),
            rating=np.array([float(p.rating) for p in profiles], dtype=np.float64),
            ratings_count=ints([p.ratings_count for p in profiles]),
            completed=ints([p.completed_missions for p in profiles]),
            recent_shortlists=ints([p.recent_shortlists for p in profiles]),
            active=np.array([p.membership_active for p in profiles], dtype=bool),
        )


@dataclass
class DirectoryScores:
    eligible: Bools
    values: dict[str, Floats]
    base: Floats
    bonus: Floats
    score: Floats
    qualified: Bools


def score_directory(
    q: MatchQuery, d: DirectoryArrays, rates: RatesTable, tax: Taxonomy | None = None
) -> DirectoryScores:
    tax = tax or get_taxonomy()
    n = len(d)
    eligible = d.active.copy()
    missing_language = [lang for lang in q.languages if lang not in d.languages]
    if missing_language:
        eligible[:] = False
    elif q.languages:
        eligible &= _all(d.language_bits, [d.languages[lang] for lang in q.languages])
    for expert_id in q.excluded:
        row = d.row_of.get(expert_id)
        if row is not None:
            eligible[row] = False

    acc: Floats = np.zeros(n, dtype=np.float64)
    for wanted in q.skills:
        skill = tax.skills[wanted]
        exact = _bit(d.skill_bits, tax.skill_index[wanted])
        group = _bit(d.group_bits, tax.group_index[skill.group])
        function = _bit(d.skill_function_bits, tax.function_index[skill.function])
        acc = acc + np.where(
            exact, PROXIMITY_EXACT, np.where(group, PROXIMITY_GROUP, np.where(function, PROXIMITY_FUNCTION, 0.0))
        )
    skills = acc / len(q.skills)

    fi = tax.function_index[q.function]
    function_v = np.where(_bit(d.declared_function_bits, fi), 1.0, np.where(_bit(d.skill_function_bits, fi), 0.5, 0.0))

    wanted_countries = [d.countries[c] for c in q.countries if c in d.countries]
    if q.countries:
        lookup = np.zeros(len(d.countries), dtype=bool)
        lookup[wanted_countries] = True
        in_country = lookup[d.country]
        on_site_ok = in_country | _any(d.onsite_bits, wanted_countries)
    else:
        on_site_ok = np.zeros(n, dtype=bool)
    location = np.where(d.remote | on_site_ok, 1.0, 0.5) if q.remote else np.where(on_site_ok, 1.0, 0.0)

    diff = np.abs(d.utc_offset - q.reference_offset_minutes)
    diff = np.minimum(diff, 1440 - diff)
    timezone = np.maximum(0, WORKDAY_MINUTES - diff) / WORKDAY_MINUTES

    delay = d.available_from - q.start_ordinal
    start_fit = np.where(delay <= 0, 1.0, np.maximum(0.0, 1.0 - delay / q.duration_days))
    days = np.minimum(d.days_per_week, FULL_WEEK_DAYS) / FULL_WEEK_DAYS
    availability = 0.7 * start_fit + 0.3 * days

    known = q.currency in rates.per_base
    factors = np.array(
        [rates.factor(c, q.currency) if known and c in rates.per_base else np.nan for c in d.currencies],
        dtype=np.float64,
    )
    rate = d.daily_rate * factors[d.currency] if len(d.currencies) else np.zeros(n)
    with np.errstate(invalid="ignore"):
        over = np.maximum(0.0, 1.0 - BUDGET_OVERRUN_SLOPE * ((rate - q.budget_max) / q.budget_max))
        budget = np.where(np.isnan(rate), 0.0, np.where(rate <= q.budget_max, 1.0, over))

    count = d.ratings_count
    shrunk = (d.rating * count + RATING_PRIOR * RATING_PRIOR_WEIGHT) / (count + RATING_PRIOR_WEIGHT)
    missions = np.minimum(d.completed, MISSIONS_FOR_FULL_CREDIT) / MISSIONS_FOR_FULL_CREDIT
    reputation = 0.7 * (shrunk / 5.0) + 0.3 * missions

    values: dict[str, Floats] = {
        "skills": skills,
        "function": function_v,
        "languages": np.ones(n, dtype=np.float64),
        "location": location,
        "timezone": timezone,
        "availability": availability,
        "budget": budget,
        "reputation": reputation,
    }
    base: Floats = np.zeros(n, dtype=np.float64)
    for c in CRITERIA:
        base = base + WEIGHTS[c] * values[c]
    qualified = base >= QUALIFIED_THRESHOLD
    if q.fair_exposure:
        bonus = np.where(qualified, FAIR_EXPOSURE_MAX / (1.0 + d.recent_shortlists), 0.0)
    else:
        bonus = np.zeros(n, dtype=np.float64)
    return DirectoryScores(eligible, values, base, bonus, base + bonus, qualified)


def top_rows(scores: DirectoryScores, id_rank: Ints, k: int) -> Ints:
    """Rows of the ``k`` best eligible experts, best first, equal scores by expert id (the reference order)."""
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


def scored_row(d: DirectoryArrays, scores: DirectoryScores, row: int) -> Scored:
    contributions = {c: WEIGHTS[c] * float(scores.values[c][row]) for c in CRITERIA}
    contributions[FAIR_EXPOSURE] = float(scores.bonus[row])
    return Scored(
        d.profiles[row].id,
        float(scores.base[row]),
        float(scores.bonus[row]),
        float(scores.score[row]),
        bool(scores.qualified[row]),
        contributions,
    )


def rank_vectorised(
    q: MatchQuery, d: DirectoryArrays, rates: RatesTable, k: int, tax: Taxonomy | None = None
) -> list[Scored]:
    scores = score_directory(q, d, rates, tax)
    return [scored_row(d, scores, int(r)) for r in top_rows(scores, d.id_rank, k)]
