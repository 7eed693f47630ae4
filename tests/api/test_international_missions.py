"""Whole missions over the HTTP API for the six party pairs of issue 15 (its acceptance, points 2-5): a new client
organisation and a new expert register through `/auth/register/*`, ops confirm both fees, and the mission runs from
the need to `closed` (shortlist, invitation, proposal, selection, contract signed by both with an authenticator code,
one milestone delivered and accepted, its invoice issued and paid, both rate). The issued invoice, downloaded over the
API, passes the XSD and exactly the rule sets that apply to it (EN 16931, plus FR-CTC when the seller is established
in France), its signatures verify, and it states the VAT category, the mention and the currency of its case.

On the real stack: the Temporal dev server, the app in process with its own workers (as `innot demo` runs). One
client per client country is shared by the cases (fees paid once); every case is its own mission with its own expert.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from api.account_mail import Outbox
from api.app import create_app
from api.security import hash_password
from cli.demo import PASSWORD, SKILLS, Demo, Party, _login, _ok, _until, enrol_second_factor, open_account, pay_fees
from config.settings import Settings
from config.temporal import connect
from documents.facturx import NSMAP, check_xsd, extract_facturx
from documents.schematron import EN16931, FR_CTC, SchematronValidator
from documents.signing import DevPki
from documents.verification import verify_document
from store import accounts
from store.db import transaction
from tests.api.live import _OWN_LANGUAGES
from worker import build_workers

pytestmark = [pytest.mark.db, pytest.mark.devserver, pytest.mark.slow]

# --- the parties -------------------------------------------------------------------------------------------------

FR_ADDRESS = {"address_line": "12 quai des Chartrons", "postcode": "33000", "city": "Bordeaux", "country": "FR"}
CLIENTS: dict[str, dict[str, Any]] = {
    "FR": {"legal_name": "Lumière Industrie SAS", "legal_form": "SAS", "siret": "73282932000074",
           "vat_number": "FR44732829320", **FR_ADDRESS},
    "CH": {"legal_name": "Alpenblick Technik AG", "legal_form": "AG", "vat_number": "CHE-100.000.006 MWST",
           "address_line": "Bahnhofstrasse 1", "postcode": "8001", "city": "Zürich", "country": "CH"},
}  # fmt: skip
FR_EXPERT = {"siret": "73282932000074", "iban": "FR1420041010050500013M02606", **FR_ADDRESS}
EXPERTS: dict[str, dict[str, Any]] = {
    "fr_vat": FR_EXPERT | {"vat_regime": "vat_registered", "vat_number": "FR44732829320"},
    "fr_micro": FR_EXPERT | {"vat_regime": "franchise_en_base"},
    "de_vat": {"vat_regime": "vat_registered", "vat_number": "DE811000004", "iban": "DE89370400440532013000",
               "bic": "COBADEFFXXX", "address_line": "Unter den Linden 5", "postcode": "10117", "city": "Berlin",
               "country": "DE", "timezone": "Europe/Berlin"},
    "be_sme": {"vat_regime": "franchise_en_base", "vat_number": "BE 0400.000.086", "iban": "BE71096123456769",
               "bic": "GKCCBEBB", "address_line": "Rue Neuve 20", "postcode": "1000", "city": "Bruxelles",
               "country": "BE", "timezone": "Europe/Brussels"},
    "us_ein": {"vat_regime": "non_eu", "tax_id": "12-3456789", "account_number": "000123456789",
               "aba_routing": "021000021", "currency": "USD", "address_line": "500 Market St", "postcode": "94105",
               "city": "San Francisco", "country": "US", "timezone": "America/Los_Angeles",
               "utc_offset_minutes": -480},
}  # fmt: skip


@dataclass(frozen=True)
class Case:
    """One party pair, and what its invoice must state."""

    expert: str  # a key of EXPERTS
    client: str  # a key of CLIENTS
    currency: str
    category: str  # EN 16931 VAT category (UNTDID 5305)
    rate: Decimal
    mention: str | None  # words of the legal mention (BT-120 and an invoice note)
    rule_sets: tuple[str, ...]
    # the seller's identifiers the invoice's XML must carry (BT-31 VAT number, BT-32 EIN): none for category O,
    # where EN 16931 forbids the seller's VAT number (BR-O-02); the PDF prints the VAT number in every case
    seller_tax_ids: tuple[str, ...] = ()


FR_VAT, DE_VAT, BE_VAT, US_EIN = "FR44732829320", "DE811000004", "BE0400000086", "12-3456789"
CASES = {
    "fr-to-fr-20": Case("fr_vat", "FR", "EUR", "S", Decimal("20"), None, (EN16931, FR_CTC), (FR_VAT,)),
    "fr-micro-293b": Case("fr_micro", "FR", "EUR", "E", Decimal("0"), "art. 293 B du CGI", (EN16931, FR_CTC)),
    "de-to-fr-reverse": Case("de_vat", "FR", "EUR", "AE", Decimal("0"), "Autoliquidation", (EN16931,), (DE_VAT,)),
    "be-sme-to-fr": Case("be_sme", "FR", "EUR", "AE", Decimal("0"), "Autoliquidation", (EN16931,), (BE_VAT,)),
    "fr-to-ch-chf": Case("fr_vat", "CH", "CHF", "O", Decimal("0"), "art. 259-1 du CGI", (EN16931, FR_CTC)),
    "us-to-fr-usd": Case("us_ein", "FR", "USD", "AE", Decimal("0"), "Autoliquidation", (EN16931,), (US_EIN,)),
}
PRICE = Decimal("4000.00")  # one milestone: 5 days at 800


# --- the stack ---------------------------------------------------------------------------------------------------


@dataclass
class Stack:
    api: httpx.AsyncClient
    settings: Settings
    outbox: Outbox
    ops: Party
    tag: str
    clients: dict[str, Party] = field(default_factory=dict)  # one per client country, registered on first use


@pytest.fixture(scope="module")
async def stack(
    dev_server_env: WorkflowEnvironment,
    engine: Engine,
    session_factory: sessionmaker[Session],
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    """The app with its own workers and task queues on the dev server, and an ops account with its second factor."""
    tag, var = uuid.uuid4().hex[:8], tmp_path_factory.mktemp("international")
    settings = Settings(
        environment="test",
        database_url=engine.url.render_as_string(hide_password=False),
        temporal_address=dev_server_env.client.service_client.config.target_host,
        document_store=f"file://{var / 'documents'}",
        keys_dir=var / "keys",
        task_queue=f"intl-{tag}",
        documents_task_queue=f"intl-docs-{tag}",
    )
    app = create_app(settings, engine=engine, temporal=await connect(settings))
    app.state.owns_engine = False
    outbox = Outbox.install(app)
    workers = build_workers(await connect(settings), settings)
    running = [asyncio.create_task(w.run()) for w in workers]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://innot.test", timeout=60) as api:
            ops = Party(f"ops.{tag}@ops.example")
            with transaction(session_factory) as session:
                accounts.create_user(session, email=ops.email, full_name="Olga Ops",
                                     password_hash=await hash_password(PASSWORD), role="ops")  # fmt: skip
            await _login(api, ops)
            await enrol_second_factor(api, ops)
            yield Stack(api, settings, outbox, ops, tag)
    finally:
        await asyncio.gather(*(w.shutdown() for w in workers))
        await asyncio.gather(*running, return_exceptions=True)


@pytest.fixture(scope="module")
def schematron() -> SchematronValidator:
    return SchematronValidator()


# --- one helper per step -----------------------------------------------------------------------------------------


async def register_client(stack: Stack, country: str) -> Party:
    """The client organisation of this country: registered, its address verified, its authenticator enrolled and its
    fee confirmed by ops (once per module)."""
    if country not in stack.clients:
        client = Party(f"client.{country.lower()}.{stack.tag}@client.example")
        org = CLIENTS[country] | {"billing_email": f"billing.{stack.tag}@client.example"}
        account = {"email": client.email, "full_name": "Claire Martin", "password": PASSWORD, "language": "fr"}
        body = {"account": account, "organisation": org}
        client.member_id = (await _ok(stack.api.post("/auth/register/client", json=body), 201))["member_id"]
        await open_account(stack.api, client, stack.outbox)
        await pay_fees(stack.api, stack.ops, [client])
        stack.clients[country] = client
    return stack.clients[country]


async def register_expert(stack: Stack, kind: str, language: str) -> Party:
    """A new expert of this kind (EXPERTS), speaking a language no other expert of the directory speaks, so that
    the need which requires it shortlists them alone; fee confirmed by ops."""
    expert = Party(f"expert.{kind}.{uuid.uuid4().hex[:8]}@expert.example")
    profile = {
        "display_name": f"Expert {kind}",
        "legal_name": f"Expert {kind} Conseil",
        "business_functions": ["finance"],
        "skills": SKILLS,
        "languages": ["fr", "en", language],
        "daily_rate": "800.00",
        "available_from": date.today().isoformat(),
        "billing_mandate_accepted": True,
    } | EXPERTS[kind]
    account = {"email": expert.email, "full_name": f"Expert {kind}", "password": PASSWORD, "language": "fr"}
    body = {"account": account, "profile": profile}
    expert.member_id = (await _ok(stack.api.post("/auth/register/expert", json=body), 201))["member_id"]
    await open_account(stack.api, expert, stack.outbox)
    await pay_fees(stack.api, stack.ops, [expert])
    return expert


def need(currency: str, language: str) -> dict[str, Any]:
    return {
        "title": "Modèle de prévision de trésorerie",
        "description": "Construire un modèle de prévision de trésorerie à treize semaines et former l'équipe.",
        "business_function": "finance",
        "skills": SKILLS,
        "languages": ["fr", language],
        "remote": True,
        "budget_min": "600.00",
        "budget_max": "1000.00",
        "currency": currency,
        "start_date": (date.today() + timedelta(days=7)).isoformat(),
        "duration_days": 10,
        "confidential": False,
        "mission_language": "fr",
    }


def proposal(currency: str) -> dict[str, Any]:
    """Five days at 800, in one milestone."""
    due = date.today() + timedelta(days=20)
    milestone = {"title": "Modèle et formation", "description": "Modèle livré, équipe formée",
                 "amount": str(PRICE), "due_date": due.isoformat()}  # fmt: skip
    terms = {"approach": "Diagnostic des flux, modèle, formation.", "pricing": "daily", "daily_rate": "800.00",
             "days": "5.0", "currency": currency, "milestones": [milestone]}  # fmt: skip
    return {"terms": terms}


async def post_need_and_select(demo: Demo, client: Party, expert: Party, currency: str, language: str) -> None:
    """Need -> shortlist (the expert on it) -> invitation accepted -> proposal -> the client selects it."""
    post = demo.api.post
    demo.mission_id = (await _ok(post("/missions", json=need(currency, language), headers=client.headers), 201))[
        "mission_id"
    ]
    base = f"/missions/{demo.mission_id}"
    view = await demo.wait_action(client, "review_shortlist", "the shortlist")
    assert expert.member_id in {c["expert_id"] for c in view["shortlist"]}, "the new expert is shortlisted"
    await _ok(post(f"{base}/invitations/start", json={}, headers=client.headers))
    await demo.wait_action(expert, "answer_invitation", "the invitation")
    await _ok(post(f"{base}/invitation/accept", json={}, headers=expert.headers))
    await demo.wait_action(expert, "submit_proposal", "the proposal window")
    await _ok(post(f"{base}/proposal", json=proposal(currency), headers=expert.headers))
    await demo.wait_action(client, "select_proposal", "the proposal to select")
    await _ok(post(f"{base}/proposals/select", json={"expert_id": expert.member_id}, headers=client.headers))


async def sign_contract(demo: Demo, client: Party, expert: Party) -> None:
    """Both sign the exact contract they were shown, each confirming with their authenticator's code."""
    for party in (client, expert):
        view = await demo.wait_action(party, "sign_contract", "the contract")
        body = {"expected_sha256": view["contract"]["document"]["sha256"], "otp": party.otp()}
        await _ok(demo.api.post(f"/missions/{demo.mission_id}/contract/sign", json=body, headers=party.headers))


async def deliver_and_accept(demo: Demo, client: Party, expert: Party) -> None:
    """The expert delivers the milestone, the client accepts it: its invoice is issued."""
    base = f"/missions/{demo.mission_id}/milestones/1"
    await demo.wait_action(expert, "submit_deliverable", "the milestone to deliver", 1)
    files = {"file": ("modele.pdf", b"%PDF-1.4\n% cash forecast model\n", "application/pdf")}
    await _ok(demo.api.post(f"{base}/deliverable", files=files, headers=expert.headers))
    await demo.wait_action(client, "review_deliverable", "the milestone to review", 1)
    await _ok(demo.api.post(f"{base}/accept", json={}, headers=client.headers))
    await demo.wait_action(client, "confirm_payment", "the milestone's invoice", 1)


async def download_invoice(demo: Demo, client: Party) -> bytes:
    """The mission invoice, as the client downloads it from the mission's documents."""
    base = f"/missions/{demo.mission_id}/documents"
    documents = await _ok(demo.api.get(base, headers=client.headers))
    invoices = [d for d in documents if d["kind"] == "mission_invoice"]
    assert len(invoices) == 1, documents
    return bytes((await _ok(demo.api.get(f"{base}/{invoices[0]['id']}", headers=client.headers))).content)


async def pay_rate_and_close(demo: Demo, client: Party, expert: Party) -> str:
    """The client confirms the payment, both rate each other: the mission closes. Its stage, as the client sees it."""
    base = f"/missions/{demo.mission_id}"
    paid = {"paid_on": date.today().isoformat(), "reference": "VIR-1"}
    await _ok(demo.api.post(f"{base}/milestones/1/payment", json=paid, headers=client.headers))
    for party, action in ((client, "rate_expert"), (expert, "rate_client")):
        await demo.wait_action(party, action, "the feedback window")
        await _ok(demo.api.post(f"{base}/rating", json={"score": 5, "comment": "Très bien"}, headers=party.headers))

    async def final_stage() -> str | None:
        stage = str((await _ok(demo.api.get(base, headers=client.headers)))["mission"]["stage"])
        return stage if stage in ("closed", "cancelled", "needs_attention") else None

    found: str = await _until("the mission to close", final_stage)
    return found


def invoice_xml(pdf: bytes, settings: Settings) -> bytes:
    """The Factur-X XML of the invoice, once its signatures verify against the platform CA and the XML its XSD."""
    root = DevPki(settings.keys_dir, organisation=settings.platform.legal_name).ca_cert_path
    report = verify_document(pdf, trust_root=root, expect_facturx=True)
    assert report.ok, report.summary()
    xml = extract_facturx(pdf)
    assert xml is not None
    check_xsd(xml)
    return xml


def text(tree: etree._Element, path: str) -> str | None:
    return tree.findtext(path, namespaces=NSMAP)


def printed(pdf: bytes) -> str:
    """The words a person reads on the invoice."""
    executable = shutil.which("pdftotext")
    assert executable, "pdftotext missing: apt-get install poppler-utils (a system dependency of make test)"
    result = subprocess.run([executable, "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return " ".join(result.stdout.decode("utf-8").split())


# --- the test ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
async def test_a_whole_mission_closes_and_its_invoice_states_the_right_vat(
    stack: Stack, schematron: SchematronValidator, case: Case
) -> None:
    language = next(_OWN_LANGUAGES)
    client = await register_client(stack, case.client)
    expert = await register_expert(stack, case.expert, language)
    demo = Demo(stack.api, console=None, out=Path())  # type: ignore[arg-type]

    await post_need_and_select(demo, client, expert, case.currency, language)
    await sign_contract(demo, client, expert)
    await deliver_and_accept(demo, client, expert)
    pdf = await download_invoice(demo, client)
    xml = invoice_xml(pdf, stack.settings)
    assert await pay_rate_and_close(demo, client, expert) == "closed"

    report = schematron.validate(xml)
    assert report.applied == case.rule_sets, report.summary()
    assert not report.failures, "\n".join(map(str, report.failures))
    tree = etree.fromstring(xml)
    tax = ".//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/"
    assert text(tree, tax + "ram:CategoryCode") == case.category
    assert Decimal(text(tree, tax + "ram:RateApplicablePercent") or "0") == case.rate
    assert text(tree, ".//ram:InvoiceCurrencyCode") == case.currency
    # BT-110 in the invoice's currency (a foreign-currency invoice also states its VAT in euros, BT-111)
    vat = Decimal(text(tree, f".//ram:TaxTotalAmount[@currencyID='{case.currency}']") or "NaN")
    assert vat == (PRICE * case.rate / 100).quantize(Decimal("0.01"))
    assert Decimal(text(tree, ".//ram:DuePayableAmount") or "0") == PRICE + vat, "the full price: no commission"
    seller = [e.text for e in tree.iterfind(".//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID", NSMAP)]
    assert set(case.seller_tax_ids) <= set(seller), seller
    if case.category == "AE":  # reverse charge: the buyer self-accounts, identified by its VAT number
        assert text(tree, ".//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == FR_VAT
    words = printed(pdf)
    assert case.currency in words
    vat_number = EXPERTS[case.expert].get("vat_number")
    identifiers = [vat_number.replace(" ", "").replace(".", "") if vat_number else None, *case.seller_tax_ids]
    assert all(number in words for number in identifiers if number), "the seller's tax identifiers are printed"
    if case.mention:
        assert case.mention in (text(tree, tax + "ram:ExemptionReason") or "")
        notes = [n.findtext("ram:Content", namespaces=NSMAP) or "" for n in tree.iterfind(".//ram:IncludedNote", NSMAP)]
        assert any(case.mention in n for n in notes), notes
        assert case.mention in words, "the mention is printed on the invoice"
