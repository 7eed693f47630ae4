"""The taxonomy matching ranks on, need validation against it, and currency conversion."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.fx import DEFAULT_RATES, UnknownCurrencyError
from domain.money import Money
from domain.need import Need
from domain.taxonomy import TaxonomyError, get_taxonomy, normalise_need, validate_need

TAX = get_taxonomy()


def need(function: str, skills: list[str]) -> Need:
    return Need(
        title="Need title", description="A need long enough to be valid here.", business_function=function,
        skills=skills, languages=["FR"], countries=["fr"], budget_min=Decimal(0), budget_max=Decimal(800),
        start_date=date(2026, 5, 4), duration_days=30,
    )  # fmt: skip


def test_taxonomy_covers_the_business_functions_with_labelled_skills() -> None:
    expected = {"strategy", "finance", "hr", "legal", "marketing", "sales", "operations", "supply_chain", "it",
                "data", "csr", "public_affairs"}  # fmt: skip
    assert expected <= set(TAX.functions)
    for function in TAX.functions.values():
        assert len(function.skills) >= 15, function.key
        assert function.label_en and function.label_fr and function.synonyms
    for skill in TAX.skills.values():
        assert skill.label_en and skill.label_fr and skill.synonyms, skill.key


def test_need_with_labels_and_synonyms_is_normalised_to_keys() -> None:
    raw = need("Ressources humaines", ["Paie", "HRIS", "payroll", "Conduite du changement"])
    assert validate_need(raw) == []
    clean = normalise_need(raw)
    assert clean.business_function == "hr"
    assert clean.skills == ["payroll", "hris", "change_management"]  # duplicate synonym dropped, order kept
    assert clean.languages == ["fr"] and clean.countries == ["FR"]


def test_unknown_function_and_skills_are_reported_together() -> None:
    raw = need("astrology", ["horoscopes", "valuation"])
    assert validate_need(raw) == [
        "unknown business function 'astrology': no close match in the taxonomy",
        "unknown skill 'horoscopes': no close match in the taxonomy",
    ]
    with pytest.raises(TaxonomyError, match="horoscopes"):
        normalise_need(raw)


def test_an_unknown_term_comes_with_its_close_matches() -> None:
    """Misspellings, and the labels or synonyms that contain what was typed: what the client may have meant."""
    assert validate_need(need("finanse", ["valuaton", "mergers", "Valuation"])) == [
        "unknown business function 'finanse'; close matches: finance (Finance)",
        "unknown skill 'valuaton'; close matches: valuation (Valuation)",
        "unknown skill 'mergers'; close matches: mergers_acquisitions (Mergers and acquisitions)",
    ]
    with pytest.raises(TaxonomyError, match=r"close matches: financial_modelling \(Financial modelling\)"):
        TAX.skill_key("financial modeling")


def test_proximity_follows_the_tree() -> None:
    assert TAX.proximity("ifrs_reporting", "ifrs_reporting") == 1.0
    assert 0 < TAX.proximity("ifrs_reporting", "consolidation") < 1.0
    assert 0 < TAX.proximity("ifrs_reporting", "valuation") < TAX.proximity("ifrs_reporting", "consolidation")
    assert TAX.proximity("ifrs_reporting", "lobbying") == 0.0


def test_conversion_uses_cross_rates_and_rounds_to_the_cent() -> None:
    usd = Money(amount=Decimal("1000.00"), currency="USD")
    eur = DEFAULT_RATES.convert(usd, "EUR")
    assert eur == Money(amount=Decimal("921.66"), currency="EUR")
    back = DEFAULT_RATES.convert(eur, "USD")
    assert abs(back.amount - usd.amount) <= Decimal("0.01")
    assert DEFAULT_RATES.convert(usd, "USD") == usd
    with pytest.raises(UnknownCurrencyError):
        DEFAULT_RATES.rate("XXX", "EUR")
