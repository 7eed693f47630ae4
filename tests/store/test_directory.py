"""The directory search on the real database (SQLite FTS5 here, PostgreSQL full-text with `make test-db`): every
filter, full-text on the public headline and portfolio, and what an expert keeps private is never matched."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from domain.directory import DEFAULT_PUBLIC, DirectoryQuery, PortfolioEntry
from domain.fx import DEFAULT_RATES
from store.db import transaction
from store.directory import UnknownTerm, engaged, freed, public_profile, reindex, replace_portfolio, search
from store.models.community import Expert

pytestmark = pytest.mark.db


def add_expert(
    sessions: sessionmaker[Session], tag: str, portfolio: list[PortfolioEntry] = (), **fields: Any
) -> uuid.UUID:  # type: ignore[assignment]
    values: dict[str, Any] = {
        "display_name": f"Expert {tag}", "legal_name": f"Expert {tag}", "country": "FR", "address_line": "1 rue A",
        "postcode": "75001", "city": "Paris", "daily_rate": Decimal("800.00"), "currency": "EUR",
        "available_from": date(2031, 1, 1), "vat_regime": "franchise_en_base", "business_functions": ["finance"],
        "skills": ["financial_modelling"], "languages": ["fr"], "headline": f"{tag} consultant",
        "membership_active": True, "public_fields": list(DEFAULT_PUBLIC),
    } | fields  # fmt: skip
    with transaction(sessions) as s:
        expert = Expert(**values)
        s.add(expert)
        s.flush()
        replace_portfolio(s, expert, list(portfolio))
        reindex(s, expert)
        return expert.id


def found(sessions: sessionmaker[Session], **query: Any) -> set[uuid.UUID]:
    with sessions() as s:
        return {e.id for e in search(s, DirectoryQuery(**query), DEFAULT_RATES).experts}


@pytest.fixture
def tag() -> str:
    return "zq" + uuid.uuid4().hex[:8]  # a word no other expert of the shared database has


def test_full_text_on_headline_and_portfolio(session_factory: sessionmaker[Session], tag: str) -> None:
    by_headline = add_expert(session_factory, tag, headline=f"Interim CFO {tag} for mid-caps")
    by_portfolio = add_expert(
        session_factory, "other", headline="Consultant",
        portfolio=[PortfolioEntry(title="Carve-out", description=f"Carve-out of a {tag} subsidiary, 2024")],
    )  # fmt: skip
    assert found(session_factory, q=tag) == {by_headline, by_portfolio}
    assert found(session_factory, q=f"{tag} CFO") == {by_headline}, "every word"
    assert found(session_factory, q=f"{tag} subsid") == {by_portfolio}, "a word's beginning"
    assert found(session_factory, q=f'"{tag}*" -( : &') == {by_headline, by_portfolio}, "words only, no operator"


def test_each_filter(session_factory: sessionmaker[Session], tag: str) -> None:
    fr = add_expert(
        session_factory, tag, skill_levels={"financial_modelling": "expert"}, available_from=date(2031, 1, 1)
    )
    de = add_expert(
        session_factory, tag, country="DE", languages=["de", "en"], countries=["AT"], currency="GBP",
        daily_rate=Decimal("700.00"), business_functions=["hr"], skills=["payroll"], available_from=date(2031, 6, 1),
    )  # fmt: skip
    add_expert(session_factory, tag, membership_active=False)  # lapsed: never listed
    assert found(session_factory, q=tag) == {fr, de}
    assert found(session_factory, q=tag, function="finance") == {fr}
    assert found(session_factory, q=tag, function="human resources") == {de}, "a synonym of the function"
    assert found(session_factory, q=tag, skill="financial_modelling", min_level="expert") == {fr}
    assert found(session_factory, q=tag, skill="payroll", min_level="advanced") == set(), "no level given"
    assert found(session_factory, q=tag, language="en") == {de}
    assert found(session_factory, q=tag, country="AT") == {de}, "on site there"
    assert found(session_factory, q=tag, country="FR") == {fr}
    assert found(session_factory, q=tag, available_by=date(2031, 2, 1)) == {fr}
    # 700 GBP is about 820 EUR (the rates table): within 850 EUR, not within 810
    assert found(session_factory, q=tag, max_rate=Decimal("850"), currency="EUR") == {fr, de}
    assert found(session_factory, q=tag, max_rate=Decimal("810"), currency="EUR") == {fr}
    with pytest.raises(UnknownTerm, match="skill"):
        found(session_factory, skill="juggling")


def test_a_private_part_is_neither_shown_nor_matched(session_factory: sessionmaker[Session], tag: str) -> None:
    secret = add_expert(
        session_factory, "secret", headline=f"{tag} visible", languages=["it"],
        public_fields=["headline", "skills"],
        portfolio=[PortfolioEntry(title="Confidential", description=f"{tag}hidden restructuring")],
    )  # fmt: skip
    assert found(session_factory, q=tag) == {secret}
    assert found(session_factory, q=f"{tag}hidden") == set(), "the private portfolio is not indexed"
    assert found(session_factory, q=tag, language="it") == set()
    assert found(session_factory, q=tag, max_rate=Decimal("5000")) == set()
    with session_factory() as s:
        expert = s.get_one(Expert, secret)
        card = public_profile(s, expert, with_portfolio=True)
    assert card["headline"] == f"{tag} visible" and "portfolio" not in card and "daily_rate" not in card
    assert "languages" not in card and card["reputation"]["completed_missions"] == 0


def test_a_signed_mission_sets_the_availability_and_its_end_frees_it(
    session_factory: sessionmaker[Session], tag: str
) -> None:
    expert_id = add_expert(session_factory, tag, available_from=date(2031, 1, 1))
    with transaction(session_factory) as s:
        engaged(s, expert_id, date(2031, 3, 31))
    with session_factory() as s:
        assert s.get_one(Expert, expert_id).available_from == date(2031, 4, 1)
    with transaction(session_factory) as s:
        freed(s, expert_id, date(2031, 2, 15))
    with session_factory() as s:
        expert = s.get_one(Expert, expert_id)
        assert (expert.available_from, expert.engaged_until) == (date(2031, 2, 15), None)
