"""Ranking properties of the matching score, its explanations, and agreement of the vectorised scorer."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.fx import DEFAULT_RATES
from domain.matching import (
    CRITERIA,
    FAIR_EXPOSURE,
    FAIR_EXPOSURE_MAX,
    QUALIFIED_THRESHOLD,
    WEIGHTS,
    ExpertProfile,
    MatchQuery,
    compile_query,
    rank_naive,
    score_expert,
)
from domain.matching_explain import LABELS, explain, strongest_and_weakest
from domain.matching_vector import DirectoryArrays, rank_vectorised
from domain.need import Need
from domain.taxonomy import get_taxonomy, normalise_need

TAX = get_taxonomy()
START = date(2026, 4, 1)


def make_need(**overrides: Any) -> Need:
    fields: dict[str, Any] = {
        "title": "IFRS 17 conversion",
        "description": "Lead the IFRS conversion of a mid-size insurer's consolidated accounts.",
        "business_function": "finance",
        "skills": ["ifrs_reporting", "consolidation", "valuation"],
        "languages": ["fr", "en"],
        "countries": ["FR"],
        "remote": True,
        "budget_min": Decimal("500"),
        "budget_max": Decimal("900"),
        "currency": "EUR",
        "start_date": START,
        "duration_days": 60,
    }
    fields.update(overrides)
    return Need(**fields)


def make_query(need: Need | None = None, **kw: Any) -> MatchQuery:
    return compile_query(normalise_need(need or make_need()), reference_offset_minutes=60, **kw)


def make_expert(**overrides: Any) -> ExpertProfile:
    """An expert who fits ``make_need()`` perfectly."""
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "business_functions": ("finance",),
        "skills": ("ifrs_reporting", "consolidation", "valuation"),
        "languages": ("fr", "en"),
        "country": "FR",
        "countries": (),
        "remote": True,
        "utc_offset_minutes": 60,
        "daily_rate": Decimal("800.00"),
        "currency": "EUR",
        "available_from": date(2026, 3, 1),
        "available_days_per_week": 5,
        "rating": Decimal("4.80"),
        "ratings_count": 25,
        "completed_missions": 30,
        "recent_shortlists": 3,
    }
    fields.update(overrides)
    return ExpertProfile(**fields)


def score(q: MatchQuery, e: ExpertProfile) -> float:
    s = score_expert(q, e, DEFAULT_RATES)
    assert s is not None
    return s.score


def test_perfect_fit_outranks_partial_fits() -> None:
    q = make_query()
    perfect = make_expert()
    partials = [
        make_expert(skills=("ifrs_reporting", "budgeting_forecasting")),  # one exact, one of the same group
        make_expert(available_from=date(2026, 5, 1), available_days_per_week=2),
        make_expert(utc_offset_minutes=-300),
        make_expert(ratings_count=0, rating=Decimal("0"), completed_missions=0),
        make_expert(business_functions=("strategy",)),
    ]
    ranking = rank_naive(q, [*partials, perfect], DEFAULT_RATES, 10)
    assert ranking[0].expert_id == perfect.id
    assert all(score(q, perfect) > score(q, p) for p in partials)


def test_close_skill_of_same_family_counts_partly() -> None:
    q = make_query(make_need(skills=["ifrs_reporting"]))
    exact = make_expert(skills=("ifrs_reporting",))
    same_group = make_expert(skills=("consolidation",))  # accounting and control
    same_function = make_expert(skills=("valuation",))  # corporate finance
    unrelated = make_expert(skills=("seo_sea",))
    values = [score_expert(q, e, DEFAULT_RATES) for e in (exact, same_group, same_function, unrelated)]
    skills = [v.contributions["skills"] for v in values if v is not None]
    assert skills[0] > skills[1] > skills[2] > skills[3] == 0.0


def test_missing_required_language_excludes() -> None:
    q = make_query(make_need(languages=["fr", "de"]))
    fluent = make_expert(languages=("fr", "de", "en"))
    without_german = make_expert(languages=("fr", "en"), rating=Decimal("5.00"))
    assert score_expert(q, without_german, DEFAULT_RATES) is None
    assert [s.expert_id for s in rank_naive(q, [fluent, without_german], DEFAULT_RATES, 5)] == [fluent.id]


def test_hard_filters_lapsed_and_excluded() -> None:
    lapsed = make_expert(membership_active=False)
    excluded = make_expert()
    kept = make_expert()
    q = make_query(excluded=[excluded.id])
    assert [s.expert_id for s in rank_naive(q, [lapsed, excluded, kept], DEFAULT_RATES, 5)] == [kept.id]


def test_rate_above_budget_lowers_the_score() -> None:
    q = make_query()  # budget up to 900 EUR a day
    within, above, far_above = (make_expert(daily_rate=Decimal(r)) for r in ("900.00", "1000.00", "1400.00"))
    assert score(q, within) > score(q, above) > score(q, far_above)


def test_budget_compares_in_the_need_currency() -> None:
    q = make_query()  # 900 EUR
    in_usd_within = make_expert(daily_rate=Decimal("950.00"), currency="USD")  # ~876 EUR
    in_gbp_above = make_expert(daily_rate=Decimal("950.00"), currency="GBP")  # ~1111 EUR
    a, b = score_expert(q, in_usd_within, DEFAULT_RATES), score_expert(q, in_gbp_above, DEFAULT_RATES)
    assert a is not None and b is not None
    assert a.contributions["budget"] == WEIGHTS["budget"]
    assert b.contributions["budget"] < WEIGHTS["budget"]


def test_fair_exposure_lifts_rarely_shortlisted_among_qualified_only() -> None:
    q = make_query()
    overexposed = make_expert(recent_shortlists=20)
    newcomer = make_expert(recent_shortlists=0, rating=Decimal("4.70"))
    s_over, s_new = score_expert(q, overexposed, DEFAULT_RATES), score_expert(q, newcomer, DEFAULT_RATES)
    assert s_over is not None and s_new is not None
    assert s_new.base < s_over.base and s_new.score > s_over.score  # close bases: the term reorders them
    unqualified = make_expert(recent_shortlists=0, skills=("seo_sea",), business_functions=("marketing",))
    s_unq = score_expert(q, unqualified, DEFAULT_RATES)
    assert s_unq is not None and not s_unq.qualified and s_unq.contributions[FAIR_EXPOSURE] == 0.0


profiles = st.builds(
    make_expert,
    skills=st.lists(st.sampled_from(TAX.skill_keys[:45]), min_size=0, max_size=6).map(tuple),
    business_functions=st.lists(st.sampled_from(("finance", "strategy", "hr")), max_size=2).map(tuple),
    languages=st.sampled_from((("fr", "en"), ("en",), ("fr",), ("de", "fr", "en"))),
    country=st.sampled_from(("FR", "DE", "US", "JP")),
    remote=st.booleans(),
    utc_offset_minutes=st.sampled_from((0, 60, -300, 540)),
    daily_rate=st.decimals(min_value=200, max_value=2000, places=2),
    currency=st.sampled_from(("EUR", "USD", "GBP", "JPY")),
    available_from=st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 9, 1)),
    available_days_per_week=st.integers(1, 5),
    rating=st.decimals(min_value=0, max_value=5, places=2),
    ratings_count=st.integers(0, 50),
    completed_missions=st.integers(0, 60),
    recent_shortlists=st.integers(0, 40),
    membership_active=st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(profiles, min_size=1, max_size=40))
def test_fair_exposure_never_lifts_unqualified_above_qualified(experts: list[ExpertProfile]) -> None:
    ranked = rank_naive(make_query(), experts, DEFAULT_RATES, len(experts))
    seen_unqualified = False
    for s in ranked:
        seen_unqualified |= not s.qualified
        assert not (seen_unqualified and s.qualified), "a qualified expert ranked below an unqualified one"
        assert 0.0 <= s.bonus <= FAIR_EXPOSURE_MAX
        assert s.qualified == (s.base >= QUALIFIED_THRESHOLD)


@settings(max_examples=60, deadline=None)
@given(st.lists(profiles, min_size=1, max_size=40), st.booleans(), st.sampled_from(("EUR", "USD", "JPY")))
def test_vectorised_and_reference_scorers_agree(experts: list[ExpertProfile], remote: bool, cur: str) -> None:
    need = make_need(remote=remote, currency=cur, countries=["FR", "DE"], languages=["fr"])
    q = make_query(need, excluded=[experts[0].id])
    k = 10
    reference = rank_naive(q, experts, DEFAULT_RATES, k)
    vectorised = rank_vectorised(q, DirectoryArrays.build(experts), DEFAULT_RATES, k)
    assert [s.expert_id for s in vectorised] == [s.expert_id for s in reference]
    for v, r in zip(vectorised, reference, strict=True):
        assert v.score == r.score and v.qualified == r.qualified
        assert v.contributions == pytest.approx(r.contributions, abs=1e-12)


def test_same_input_same_output_whatever_the_input_order() -> None:
    experts = [make_expert(recent_shortlists=i % 4, available_days_per_week=1 + i % 5) for i in range(30)]
    q = make_query()
    first = rank_naive(q, experts, DEFAULT_RATES, 10)
    again = rank_naive(q, list(reversed(experts)), DEFAULT_RATES, 10)
    vector = rank_vectorised(q, DirectoryArrays.build(list(reversed(experts))), DEFAULT_RATES, 10)
    assert first == again
    assert [s.expert_id for s in vector] == [s.expert_id for s in first]


def test_contributions_add_up_to_the_score() -> None:
    q = make_query()
    s = score_expert(q, make_expert(daily_rate=Decimal("1100.00"), recent_shortlists=0), DEFAULT_RATES)
    assert s is not None
    assert set(s.contributions) == {*CRITERIA, FAIR_EXPOSURE}
    assert sum(s.contributions.values()) == pytest.approx(s.score, abs=1e-12)
    assert all(0.0 <= s.contributions[c] <= WEIGHTS[c] for c in CRITERIA)


def test_explanation_names_what_the_contributions_say() -> None:
    q = make_query()
    e = make_expert(daily_rate=Decimal("1000.00"), currency="USD", recent_shortlists=0,
                    available_from=date(2026, 4, 20))  # fmt: skip
    s = score_expert(q, e, DEFAULT_RATES)
    assert s is not None
    text = explain(q, e, s, DEFAULT_RATES)
    (first, second), weakest = strongest_and_weakest(s.contributions)
    assert weakest == "availability"  # starts 19 days late: the largest loss of points
    for lang, sentence in (("en", text.en), ("fr", text.fr)):
        assert LABELS[lang][first] in sentence and LABELS[lang][second] in sentence
        assert LABELS[lang][weakest] in sentence
        assert f"{s.score:.2f}" in sentence
    assert "above budget" in text.en and "au-dessus du budget" in text.fr
    assert "2026-04-20" in text.en and "1 000 USD" in text.en
    assert "fair exposure" in text.en and "exposition équitable" in text.fr
