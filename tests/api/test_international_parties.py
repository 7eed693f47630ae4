"""Parties anywhere in the world (issue 15, points 2, 3 and 5): tax identifiers by country, the EU small-business
scheme outside France, bank details by country; and the rule that decides whether an expert's invoices to a client
can be issued at all (checked before a contract binds them)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from domain.vat import TaxParty, invoiceable
from store.models.community import Expert, Organisation
from tests.api.conftest import client_registration, expert_registration

US = {"country": "US", "address_line": "500 Market St", "postcode": "94105", "city": "San Francisco",
      "siret": None, "vat_regime": "non_eu", "currency": "USD"}  # fmt: skip
BE = {"country": "BE", "address_line": "Rue Neuve 20", "postcode": "1000", "city": "Bruxelles", "siret": None}


@pytest.mark.db
@pytest.mark.parametrize(
    ("profile", "stored"),
    [
        (US | {"vat_number": "12-3456789", "iban": None, "account_number": "000123456789",
               "aba_routing": "021000021"},
         {"vat_number": None, "tax_id": "12-3456789", "account_number": "000123456789", "aba_routing": "021000021"}),
        (BE | {"vat_regime": "franchise_en_base", "vat_number": "BE 0400.000.086", "iban": "BE71096123456769",
               "bic": "GKCCBEBB"},
         {"vat_regime": "franchise_en_base", "vat_number": "BE0400000086", "bic": "GKCCBEBB"}),
        (US | {"country": "CA", "postcode": "H2Y 1C6", "city": "Montréal", "tax_id": "123456782", "iban": None,
               "account_number": "12345-678", "bic": "ROYCCAT2"},
         {"tax_id": "123456782", "account_number": "12345678", "bic": "ROYCCAT2"}),
    ],
)  # fmt: skip
async def test_experts_register_with_their_countrys_identifiers_and_bank_details(
    api: httpx.AsyncClient, session_factory: sessionmaker[Session], profile: dict[str, Any], stored: dict[str, Any]
) -> None:
    response = await api.post("/auth/register/expert", json=expert_registration(**profile))
    assert response.status_code == 201, response.text
    with session_factory() as session:
        expert = session.get(Expert, uuid.UUID(response.json()["member_id"]))
        assert expert is not None
        assert {name: getattr(expert, name) for name in stored} == stored


@pytest.mark.db
async def test_a_swiss_client_gives_its_uid(api: httpx.AsyncClient, session_factory: sessionmaker[Session]) -> None:
    swiss = {"country": "CH", "siret": None, "vat_number": "CHE-100.000.006 MWST", "postcode": "8001",
             "city": "Zürich", "address_line": "Bahnhofstrasse 1"}  # fmt: skip
    response = await api.post("/auth/register/client", json=client_registration(**swiss))
    assert response.status_code == 201, response.text
    with session_factory() as session:
        org = session.get(Organisation, uuid.UUID(response.json()["member_id"]))
        assert org is not None and org.vat_number == "CHE100000006MWST"
    bad = await api.post("/auth/register/client", json=client_registration(**(swiss | {"vat_number": "CHE-1"})))
    assert bad.status_code == 422 and "vat_number" in bad.text


@pytest.mark.db
@pytest.mark.parametrize(
    ("profile", "field"),
    [
        (US | {"iban": None}, "account_number"),
        (US | {"iban": None, "account_number": "000123456789", "aba_routing": "021000022"}, "aba_routing"),
        (US | {"iban": None, "account_number": "000123456789"}, "aba_routing"),
        (US | {"vat_number": "CHE123456789"}, "vat_number"),
        (BE | {"iban": None, "account_number": "12345678", "bic": "GKCCBEBB", "vat_number": "BE0400000086",
               "vat_regime": "vat_registered"}, "iban"),
        (BE | {"vat_regime": "vat_registered", "bic": "NOTABIC!"}, "bic"),
    ],
)  # fmt: skip
async def test_wrong_bank_or_tax_details_are_named(api: httpx.AsyncClient, profile: dict[str, Any], field: str) -> None:
    response = await api.post("/auth/register/expert", json=expert_registration(**profile))
    assert response.status_code == 422, response.text
    assert field in response.text


def test_which_invoices_an_expert_can_receive() -> None:
    fr_client = TaxParty(country="FR", vat_number="FR03552100554")
    us_client = TaxParty(country="US")
    us_expert = TaxParty(country="US", regime="non_eu", tax_id="12-3456789")
    assert invoiceable(us_expert, fr_client) is None  # reverse charge: the EIN identifies the seller
    assert invoiceable(TaxParty(country="US", regime="non_eu"), us_client) is None  # outside the EU's scope
    reason = invoiceable(TaxParty(country="US", regime="non_eu"), fr_client)
    assert reason and "tax identifier" in reason and "profile" in reason
    be_sme = TaxParty(country="BE", regime="franchise_en_base")
    assert invoiceable(be_sme, TaxParty(country="BE")) is not None  # needs its VAT/enterprise number
    reason = invoiceable(be_sme, fr_client)
    assert reason and "VAT number" in reason
    assert invoiceable(be_sme.model_copy(update={"vat_number": "BE0400000086"}), fr_client) is None
    assert invoiceable(TaxParty(country="FR", vat_number="FR44732829320"), TaxParty(country="CH")) is None
    assert invoiceable(TaxParty(country="DE", vat_number="DE811000004"), TaxParty(country="FR")) is not None
