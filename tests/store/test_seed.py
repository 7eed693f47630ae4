"""The synthetic directory: deterministic, valid identifiers, VAT regimes consistent with the country."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from stdnum import iban
from stdnum.eu import vat
from stdnum.fr import siren, siret

from domain.geo import COUNTRIES
from domain.need import Need
from domain.taxonomy import get_taxonomy
from store.models.community import Expert
from store.seed import generate_experts, seed_experts

REF = date(2026, 3, 2)


def test_same_seed_same_directory_other_seed_other_directory() -> None:
    assert generate_experts(300, seed=11, reference_date=REF) == generate_experts(300, seed=11, reference_date=REF)
    other = generate_experts(300, seed=12, reference_date=REF)
    assert {r["id"] for r in other}.isdisjoint(r["id"] for r in generate_experts(300, 11, REF))


def test_identifiers_are_valid_and_vat_regimes_follow_the_country() -> None:
    rows = generate_experts(3000, seed=5, reference_date=REF)
    regimes = {r["vat_regime"] for r in rows}
    assert regimes == {"vat_registered", "franchise_en_base", "non_eu"}
    tax = get_taxonomy()
    for r in rows:
        eu = COUNTRIES[r["country"]].eu
        if r["country"] == "FR":
            assert siren.is_valid(r["siren"]) and siret.is_valid(r["siret"]) and r["siret"].startswith(r["siren"])
            if r["vat_regime"] == "franchise_en_base":
                assert r["vat_number"] is None
            else:
                assert r["vat_regime"] == "vat_registered" and vat.is_valid(r["vat_number"])
                assert r["vat_number"].endswith(r["siren"])
        elif eu:
            assert r["vat_regime"] == "vat_registered" and r["siren"] is None
            assert vat.is_valid(r["vat_number"]) and r["vat_number"].startswith(r["country"])
        else:
            assert r["vat_regime"] == "non_eu" and r["vat_number"] is None
        assert r["iban"] is None or iban.is_valid(r["iban"])
        assert r["billing_mandate_accepted_on"] is not None and r["billing_mandate_accepted_on"] <= REF
        assert r["utc_offset_minutes"] == COUNTRIES[r["country"]].utc_offset_minutes
        assert COUNTRIES[r["country"]].languages[0] in r["languages"]
        assert set(r["skills"]) <= set(tax.skills) and set(r["business_functions"]) <= set(tax.functions)
        assert r["daily_rate"] > 0 and r["currency"] in {"EUR", "USD", COUNTRIES[r["country"]].currency}
    # an international directory: many countries, currencies and languages
    assert len({r["country"] for r in rows}) >= 15
    assert len({r["currency"] for r in rows}) >= 8
    assert len({lang for r in rows for lang in r["languages"]}) >= 10


def test_seeded_rows_load_back_and_fit_a_need(session_factory: sessionmaker[Session]) -> None:
    seen: list[tuple[int, int]] = []
    with session_factory() as session:
        before = session.scalar(select(func.count(Expert.id))) or 0
    ids = seed_experts(session_factory, 1200, seed=901, reference_date=REF, batch_size=500,
                       progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    assert seen == [(500, 1200), (1000, 1200), (1200, 1200)]
    assert len(ids) == len(set(ids)) == 1200
    with session_factory() as session:
        assert session.scalar(select(func.count(Expert.id))) == before + 1200
        expert = session.get(Expert, ids[0])
        assert expert is not None
        assert expert.display_name == generate_experts(1, seed=901, reference_date=REF)[0]["display_name"]
        # a synthetic expert is usable as the seller of a mission: mandate accepted, regime set
        assert expert.billing_mandate_accepted_on is not None and expert.vat_regime
        Need(title="Check need", description="A need built from a seeded profile.", business_function=
             expert.business_functions[0], skills=expert.skills, languages=expert.languages,
             budget_min=0, budget_max=expert.daily_rate, currency=expert.currency, start_date=REF,
             duration_days=10)  # fmt: skip


@pytest.mark.parametrize("n", [0, 1])
def test_small_counts(session_factory: sessionmaker[Session], n: int) -> None:
    assert len(seed_experts(session_factory, n, seed=7000 + n, reference_date=REF)) == n
