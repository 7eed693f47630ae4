"""Ranking properties of the matching score, its explanations, and agreement with the plain reference."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.fx import DEFAULT_RATES, RatesTable
from domain.matching import (
    CRITERIA,
    FAIR_EXPOSURE,
    FAIR_EXPOSURE_MAX,
    QUALIFIED_THRESHOLD,
    WEIGHTS,
    MatchQuery,
    Scored,
    compile_query,
    rank,
    score_directory,
    top_rows,
)
from domain.matching_directory import DirectoryArrays, ExpertProfile
from domain.matching_explain import LABELS, Explanation, explain, strongest_and_weakest
from domain.need import Need
from domain.taxonomy import get_taxonomy, normalise_need
from tests.domain import reference_matching as reference

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


def ranked(q: MatchQuery, experts: list[ExpertProfile], k: int = 10) -> list[Scored]:
    return rank(q, DirectoryArrays.build(experts), DEFAULT_RATES, k)


def score_expert(q: MatchQuery, e: ExpertProfile) -> Scored | None:
    """The expert's score in a directory of one, None when a hard filter leaves them out."""
    only = ranked(q, [e], 1)
    return only[0] if only else None


def score(q: MatchQuery, e: ExpertProfile) -> float:
    s = score_expert(q, e)
    assert s is not None
    return s.score


def explained(q: MatchQuery, e: ExpertProfile) -> tuple[Scored, Explanation]:
    d = DirectoryArrays.build([e])
    scores = score_directory(q, d, DEFAULT_RATES)
    assert scores.eligible[0]
    return rank(q, d, DEFAULT_RATES, 1)[0], explain(q, d, scores, 0, DEFAULT_RATES)


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
    ranking = ranked(q, [*partials, perfect])
    assert ranking[0].expert_id == perfect.id
    assert all(score(q, perfect) > score(q, p) for p in partials)


def test_close_skill_of_same_family_counts_partly() -> None:
    q = make_query(make_need(skills=["ifrs_reporting"]))
    exact = make_expert(skills=("ifrs_reporting",))
    same_group = make_expert(skills=("consolidation",))  # accounting and control
    same_function = make_expert(skills=("valuation",))  # corporate finance
    unrelated = make_expert(skills=("seo_sea",))
    values = [score_expert(q, e) for e in (exact, same_group, same_function, unrelated)]
    skills = [v.contributions["skills"] for v in values if v is not None]
    assert skills[0] > skills[1] > skills[2] > skills[3] == 0.0


def test_missing_required_language_excludes() -> None:
    q = make_query(make_need(languages=["fr", "de"]))
    fluent = make_expert(languages=("fr", "de", "en"))
    without_german = make_expert(languages=("fr", "en"), rating=Decimal("5.00"))
    assert score_expert(q, without_german) is None
    assert [s.expert_id for s in ranked(q, [fluent, without_german])] == [fluent.id]


def test_hard_filters_lapsed_and_excluded() -> None:
    lapsed = make_expert(membership_active=False)
    excluded = make_expert()
    kept = make_expert()
    q = make_query(excluded=[excluded.id])
    assert [s.expert_id for s in ranked(q, [lapsed, excluded, kept])] == [kept.id]


def test_rate_above_budget_lowers_the_score() -> None:
    q = make_query()  # budget up to 900 EUR a day
    within, above, far_above = (make_expert(daily_rate=Decimal(r)) for r in ("900.00", "1000.00", "1400.00"))
    assert score(q, within) > score(q, above) > score(q, far_above)


def test_budget_compares_in_the_need_currency() -> None:
    q = make_query()  # 900 EUR
    in_usd_within = make_expert(daily_rate=Decimal("950.00"), currency="USD")  # ~876 EUR
    in_gbp_above = make_expert(daily_rate=Decimal("950.00"), currency="GBP")  # ~1111 EUR
    a, b = score_expert(q, in_usd_within), score_expert(q, in_gbp_above)
    assert a is not None and b is not None
    assert a.contributions["budget"] == WEIGHTS["budget"]
    assert b.contributions["budget"] < WEIGHTS["budget"]


def test_fair_exposure_lifts_rarely_shortlisted_among_qualified_only() -> None:
    q = make_query()
    overexposed = make_expert(recent_shortlists=20)
    newcomer = make_expert(recent_shortlists=0, rating=Decimal("4.70"))
    s_over, s_new = score_expert(q, overexposed), score_expert(q, newcomer)
    assert s_over is not None and s_new is not None
    assert s_new.base < s_over.base and s_new.score > s_over.score  # close bases: the term reorders them
    unqualified = make_expert(recent_shortlists=0, skills=("seo_sea",), business_functions=("marketing",))
    s_unq = score_expert(q, unqualified)
    assert s_unq is not None and not s_unq.qualified and s_unq.contributions[FAIR_EXPOSURE] == 0.0


SKILLS = (*TAX.skill_keys[:45], "juggling")  # a skill the taxonomy does not know counts for nothing
profiles = st.builds(
    make_expert,
    skills=st.lists(st.sampled_from(SKILLS), min_size=0, max_size=6).map(tuple),
    business_functions=st.lists(st.sampled_from(("finance", "strategy", "hr")), max_size=2).map(tuple),
    languages=st.sampled_from((("fr", "en"), ("en",), ("fr",), ("de", "fr", "en"))),
    country=st.sampled_from(("FR", "DE", "US", "JP")),
    countries=st.lists(st.sampled_from(("FR", "DE", "BE", "GB")), max_size=2).map(tuple),
    remote=st.booleans(),
    utc_offset_minutes=st.sampled_from((0, 60, -300, 540, 330, -720, 780)),
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
queries = st.builds(
    MatchQuery,
    function=st.sampled_from(("finance", "strategy", "hr", "marketing")),
    skills=st.lists(st.sampled_from(TAX.skill_keys[:60]), min_size=1, max_size=4, unique=True).map(tuple),
    languages=st.frozensets(st.sampled_from(("fr", "en", "de", "ja")), max_size=2),
    countries=st.frozensets(st.sampled_from(("FR", "DE", "BE", "JP")), max_size=2),
    remote=st.booleans(),
    budget_max=st.sampled_from((400.0, 900.0, 1500.0)),
    currency=st.sampled_from(("EUR", "USD", "JPY")),
    start_ordinal=st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 9, 1)).map(date.toordinal),
    duration_days=st.integers(1, 200),
    reference_offset_minutes=st.sampled_from((0, 60, -300, 540)),
    fair_exposure=st.booleans(),
)
# A table without GBP or JPY: those rates cannot be converted, which scores the budget 0.
EUR_USD_ONLY = RatesTable(base="EUR", as_of=START, per_base={"EUR": Decimal(1), "USD": Decimal("1.085")})
RATES = st.sampled_from((DEFAULT_RATES, EUR_USD_ONLY))


@settings(max_examples=60, deadline=None)
@given(st.lists(profiles, min_size=1, max_size=40))
def test_fair_exposure_never_lifts_unqualified_above_qualified(experts: list[ExpertProfile]) -> None:
    seen_unqualified = False
    for s in ranked(make_query(), experts, len(experts)):
        seen_unqualified |= not s.qualified
        assert not (seen_unqualified and s.qualified), "a qualified expert ranked below an unqualified one"
        assert 0.0 <= s.bonus <= FAIR_EXPOSURE_MAX
        assert s.qualified == (s.base >= QUALIFIED_THRESHOLD)


@settings(max_examples=150, deadline=None)
@given(st.lists(profiles, min_size=1, max_size=40), queries, st.data(), RATES, st.integers(1, 45))
def test_scores_and_ranking_agree_with_the_plain_reference(
    experts: list[ExpertProfile], q: MatchQuery, data: st.DataObject, rates: RatesTable, k: int
) -> None:
    excluded = data.draw(st.frozensets(st.sampled_from([e.id for e in experts]), max_size=3))
    q = replace(q, excluded=excluded)
    expected = reference.rank(q, experts, rates, k)
    assert rank(q, DirectoryArrays.build(experts), rates, k) == expected  # ids, bases, bonuses, contributions: exact


@settings(max_examples=40, deadline=None)
@given(st.lists(profiles, min_size=1, max_size=20), queries)
def test_explanations_name_the_criteria_the_reference_scores_show(experts: list[ExpertProfile], q: MatchQuery) -> None:
    d = DirectoryArrays.build(experts)
    scores = score_directory(q, d, DEFAULT_RATES)
    for row in top_rows(scores, d.id_rank, len(experts)):
        expected = reference.score_expert(q, d.profiles[row], DEFAULT_RATES)
        assert expected is not None
        text = explain(q, d, scores, int(row), DEFAULT_RATES)
        assert (text.strongest, text.weakest) == strongest_and_weakest(expected.contributions)
        assert text.en.startswith("Strong fit" if expected.qualified else "Partial fit")
        assert f"({expected.score:.2f})" in text.en and ("fair exposure" in text.en) == (expected.bonus > 0)


def test_same_input_same_output_whatever_the_input_order() -> None:
    experts = [make_expert(recent_shortlists=i % 4, available_days_per_week=1 + i % 5) for i in range(30)]
    q = make_query()
    first = ranked(q, experts)
    assert ranked(q, list(reversed(experts))) == first
    assert first == reference.rank(q, experts, DEFAULT_RATES, 10)


def test_contributions_add_up_to_the_score() -> None:
    q = make_query()
    s = score_expert(q, make_expert(daily_rate=Decimal("1100.00"), recent_shortlists=0))
    assert s is not None
    assert set(s.contributions) == {*CRITERIA, FAIR_EXPOSURE}
    assert sum(s.contributions.values()) == pytest.approx(s.score, abs=1e-12)
    assert all(0.0 <= s.contributions[c] <= WEIGHTS[c] for c in CRITERIA)


def test_explanation_names_what_the_contributions_say() -> None:
    q = make_query()
    e = make_expert(daily_rate=Decimal("1000.00"), currency="USD", recent_shortlists=0,
                    available_from=date(2026, 4, 20))  # fmt: skip
    s, text = explained(q, e)
    (first, second), weakest = strongest_and_weakest(s.contributions)
    assert weakest == "availability"  # starts 19 days late: the largest loss of points
    for lang, sentence in (("en", text.en), ("fr", text.fr)):
        assert LABELS[lang][first] in sentence and LABELS[lang][second] in sentence
        assert LABELS[lang][weakest] in sentence
        assert f"{s.score:.2f}" in sentence
    assert "above budget" in text.en and "au-dessus du budget" in text.fr
    assert "2026-04-20" in text.en and "1 000 USD" in text.en
    assert "fair exposure" in text.en and "exposition équitable" in text.fr


def test_explanation_of_an_expert_in_time_and_within_budget() -> None:
    _, text = explained(make_query(), make_expert(daily_rate=Decimal("950.00"), currency="USD"))  # ~876 EUR
    assert "within budget" in text.en and "dans le budget" in text.fr
    assert "950 USD (~876 EUR)" in text.en
    assert "from the start date" in text.en and "dès le démarrage" in text.fr
