"""The document activities end to end on the real database, store, renderer and dev PKI: contract rendered,
signed by client then expert, sealed; invoices issued once; everything verifiable; ledger tamper-evident."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from temporalio.exceptions import ApplicationError

from activities.documents import DocumentActivities
from config.settings import Settings
from documents.facturx import extract_facturx
from documents.rendering import Renderer
from documents.signing import DevPki
from documents.store import LocalDocumentStore
from documents.verification import verify_document
from domain.documents import (
    ContractRequest,
    CreditNoteRequest,
    FeeInvoiceRequest,
    FeePaidRequest,
    MissionInvoiceRequest,
    SealContractRequest,
    SignContractRequest,
)
from domain.money import Money
from domain.terms import MilestonePlan, ProposalTerms
from store.base import Base
from store.db import transaction
from store.legal import export_ledger_csv, verify_ledger
from store.models.community import Expert, Organisation, User

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def setup(
    session_factory: sessionmaker[Session], renderer: Renderer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[DocumentActivities, LocalDocumentStore, Settings, uuid.UUID, uuid.UUID, uuid.UUID, uuid.UUID]:
    root = tmp_path_factory.mktemp("docs")
    settings = Settings(keys_dir=root / "keys", document_store=f"file://{root / 'store'}")
    store = LocalDocumentStore(root / "store")
    with transaction(session_factory) as s:
        org = Organisation(
            legal_name="Acme Industries SA",
            legal_form="SA",
            country="FR",
            siren="552100554",
            siret="55210055400013",
            vat_number="FR03552100554",
            address_line="25 avenue de l'Opéra",
            postcode="75001",
            city="Paris",
            billing_email="ap@acme.fr",
        )
        expert = Expert(
            display_name="Marie",
            legal_name="Marie Dupont Conseil",
            legal_form="EI",
            country="FR",
            address_line="12 quai Saint-Antoine",
            postcode="69002",
            city="Lyon",
            daily_rate=Decimal("850"),
            available_from=date(2026, 1, 1),
            vat_regime="vat_registered",
            siren="732829320",
            siret="73282932000074",
            vat_number="FR44732829320",
            iban="FR7630006000011234567890189",
            billing_mandate_accepted_on=date(2026, 1, 2),
        )
        s.add_all([org, expert])
        s.flush()
        client_user = User(
            email=f"c{uuid.uuid4().hex[:6]}@acme.fr",
            full_name="Claire Client",
            password_hash="x",
            role="client",
            organisation_id=org.id,
        )
        expert_user = User(
            email=f"m{uuid.uuid4().hex[:6]}@dupont.fr",
            full_name="Marie Dupont",
            password_hash="x",
            role="expert",
            expert_id=expert.id,
        )
        s.add_all([client_user, expert_user])
        s.flush()
        ids = (org.id, expert.id, client_user.id, expert_user.id)
    return (DocumentActivities(session_factory, store, renderer, settings), store, settings, *ids)


def _contract_request(org_id: uuid.UUID, expert_id: uuid.UUID, mission_id: uuid.UUID) -> ContractRequest:
    terms = ProposalTerms(
        approach="Diagnostic financier puis plan de trésorerie sur 13 semaines.",
        pricing="daily",
        daily_rate=Decimal("850.00"),
        days=Decimal("4.0"),
        currency="EUR",
        milestones=[
            MilestonePlan(title="Diagnostic", amount=Decimal("1700.00"), due_date=date(2026, 10, 1)),
            MilestonePlan(title="Plan", amount=Decimal("1700.00"), due_date=date(2026, 10, 15)),
        ],
    )
    return ContractRequest(
        mission_id=mission_id,
        client_org_id=org_id,
        expert_id=expert_id,
        mission_title="Plan de trésorerie",
        language="fr",
        confidential=True,
        terms=terms,
        total=Money(amount=Decimal("3400.00"), currency="EUR"),
    )


def test_contract_is_rendered_signed_in_order_sealed_and_verifiable(setup, session_factory) -> None:  # type: ignore[no-untyped-def]
    acts, store, settings, org_id, expert_id, client_user, expert_user = setup
    mission_id = uuid.uuid4()
    request = _contract_request(org_id, expert_id, mission_id)
    rendered = acts.render_contract(request)
    assert acts.render_contract(request) == rendered  # retry: same contract, same bytes
    changed = request.model_copy(update={"mission_title": "Autre chose"})
    with pytest.raises(ApplicationError, match="other terms"):
        acts.render_contract(changed)

    now = datetime.now(UTC)

    def sign(party: str, user: uuid.UUID, sha: str) -> str:
        signed: str = acts.sign_contract(
            SignContractRequest(
                mission_id=mission_id,
                contract_id=rendered.document_id,
                party=party,
                signer_user_id=user,
                signed_at=now,
                expected_sha256=sha,
            )
        ).sha256
        return signed

    with pytest.raises(ApplicationError, match="cannot sign"):
        sign("expert", expert_user, rendered.sha256)  # the client signs first
    with pytest.raises(ApplicationError, match="changed since"):
        sign("client", client_user, "0" * 64)
    client_signed = sign("client", client_user, rendered.sha256)
    assert sign("client", client_user, rendered.sha256) == client_signed  # idempotent
    expert_signed = sign("expert", expert_user, client_signed)
    sealed = acts.seal_contract(SealContractRequest(mission_id=mission_id, contract_id=rendered.document_id))
    assert acts.seal_contract(SealContractRequest(mission_id=mission_id, contract_id=rendered.document_id)) == sealed
    assert len({rendered.sha256, client_signed, expert_signed, sealed.sha256}) == 4

    trust_root = DevPki(settings.keys_dir).ca_cert_path
    pdf = store.get(sealed.sha256)
    report = verify_document(pdf, trust_root=trust_root)
    assert report.ok, report.summary()
    assert [s.field_name for s in report.signatures] == ["ClientSignature", "ExpertSignature", "PlatformSeal"]
    assert [s.timestamped for s in report.signatures] == [False, False, True]
    assert "Claire Client" in report.signatures[0].signer and "Marie Dupont" in report.signatures[1].signer

    tampered = bytearray(pdf)
    position = pdf.index(b"stream", len(pdf) // 3) + 20  # inside signed content
    tampered[position] ^= 0x01
    bad = verify_document(bytes(tampered), trust_root=trust_root)
    assert not bad.ok
    assert "modified after signing" in bad.summary() or "cannot be" in bad.summary(), bad.summary()


def test_invoices_are_issued_once_and_carry_valid_factur_x(setup, session_factory) -> None:  # type: ignore[no-untyped-def]
    acts, store, settings, org_id, expert_id, *_ = setup
    mission_id = uuid.uuid4()
    request = MissionInvoiceRequest(
        mission_id=mission_id,
        milestone_id=f"mission:{mission_id}:milestone:1",
        contract_id=uuid.uuid4(),
        expert_id=expert_id,
        client_org_id=org_id,
        description="Jalon 1 : diagnostic",
        amount=Money(amount=Decimal("1700.00"), currency="EUR"),
        service_date=date(2026, 9, 30),
        issue_date=date(2026, 10, 1),
        language="fr",
    )
    issued = acts.issue_mission_invoice(request)
    assert acts.issue_mission_invoice(request) == issued  # the retry returns the invoice already issued
    assert issued.number and issued.number.startswith("FA-") and issued.number.endswith("-2026-000001")
    assert issued.total_incl_tax.amount == Decimal("2040.00") and issued.due_date == date(2026, 10, 31)
    pdf = store.get(issued.sha256)
    assert extract_facturx(pdf) is not None
    report = verify_document(pdf, trust_root=DevPki(settings.keys_dir).ca_cert_path, expect_facturx=True)
    assert report.ok and report.facturx == "valid", report.summary()

    second = acts.issue_mission_invoice(request.model_copy(update={"milestone_id": f"mission:{mission_id}:m:2"}))
    assert second.number == issued.number.replace("000001", "000002")

    credit = acts.issue_credit_note(
        CreditNoteRequest(
            invoice_number=issued.number,
            idempotency_key=f"cn:{issued.number}",
            reason="erreur de montant",
            issue_date=date(2026, 10, 2),
        )
    )
    assert credit.kind == "credit_note" and credit.number and credit.number.startswith("AV-")
    assert credit.total_incl_tax == issued.total_incl_tax

    fee = acts.issue_fee_invoice(
        FeeInvoiceRequest(
            membership_id=uuid.uuid4(),
            term_key=f"membership:{org_id}:term:2026-10-01",
            community="client_organisation",
            member_id=org_id,
            amount=Money(amount=Decimal("480.00"), currency="EUR"),
            term_start=date(2026, 10, 1),
            term_end=date(2027, 9, 30),
            issue_date=date(2026, 10, 1),
        )
    )
    assert fee.number and fee.number.startswith("FP-PLATFORM-2026-") and fee.total_incl_tax.amount == Decimal("576.00")
    assert acts.record_fee_paid(FeePaidRequest(invoice_number=fee.number, paid_on=date(2026, 10, 5)))


def test_an_invoice_in_dollars_states_its_vat_in_euros(setup) -> None:  # type: ignore[no-untyped-def]
    acts, store, _settings, org_id, expert_id, *_ = setup
    mission_id = uuid.uuid4()
    issued = acts.issue_mission_invoice(
        MissionInvoiceRequest(
            mission_id=mission_id,
            milestone_id=f"mission:{mission_id}:milestone:1",
            contract_id=uuid.uuid4(),
            expert_id=expert_id,
            client_org_id=org_id,
            description="Milestone 1: diagnostic",
            amount=Money(amount=Decimal("1000.00"), currency="USD"),
            service_date=date(2026, 9, 30),
            issue_date=date(2026, 10, 1),
            language="en",
        )
    )
    assert issued.total_excl_tax == Money(amount=Decimal("1000.00"), currency="USD")
    xml = extract_facturx(store.get(issued.sha256))
    assert xml is not None and b"<ram:TaxCurrencyCode>EUR</ram:TaxCurrencyCode>" in xml
    # 200.00 USD of French VAT at the table's 1 EUR = 1.0850 USD (1 USD = 0.921659 EUR)
    assert b'<ram:TaxTotalAmount currencyID="EUR">184.33</ram:TaxTotalAmount>' in xml


def test_ledger_is_chained_exported_and_tamper_evident(setup, session_factory) -> None:  # type: ignore[no-untyped-def]
    with session_factory() as s:
        assert verify_ledger(s) == []
        csv_text = export_ledger_csv(s)
    totals_part, entries_part = csv_text.split("\n\n", 1)
    totals = list(csv.DictReader(io.StringIO(totals_part)))
    entries = list(csv.DictReader(io.StringIO(entries_part)))
    assert list(totals[0]) == ["period", "community", "kind", "currency", "count", "total", "commission"]
    # this module's fee payment is there, at its amount, with no commission
    assert any(e["kind"] == "fee_paid" and e["amount"] == "480.00" and e["currency"] == "EUR" for e in entries)
    # the database may hold other modules' entries (PostgreSQL run): the totals must still add up, entry by entry
    expected: dict[tuple[str, ...], tuple[int, Decimal, Decimal]] = {}
    for e in entries:
        key = (e["period"], e["community"], e["kind"], e["currency"])
        count, amount, commission = expected.get(key, (0, Decimal(0), Decimal(0)))
        expected[key] = (count + 1, amount + Decimal(e["amount"]), commission + Decimal(e["commission"]))
    assert {(t["period"], t["community"], t["kind"], t["currency"]): (int(t["count"]), Decimal(t["total"]),
            Decimal(t["commission"])) for t in totals} == expected  # fmt: skip
    assert all(Decimal(t["commission"]) == Decimal("0.00") for t in totals)

    with transaction(session_factory) as s:  # a silent edit, behind the ORM's back
        s.execute(text("UPDATE transparency_ledger SET amount = amount + 1 WHERE sequence = 1"))
    with session_factory() as s:
        assert verify_ledger(s) == ["entry 1: content does not match its hash (edited)"]
    ledger = Base.metadata.tables["transparency_ledger"]
    with transaction(session_factory) as s:
        s.execute(text("UPDATE transparency_ledger SET amount = amount - 1 WHERE sequence = 1"))
        removed = dict(s.execute(ledger.select().where(ledger.c.sequence == 2)).mappings().one())
        s.execute(text("DELETE FROM transparency_ledger WHERE sequence = 2"))
    with session_factory() as s:
        problems = verify_ledger(s)
    assert any("missing (removed)" in p for p in problems) and any("chain broken" in p for p in problems)

    with transaction(session_factory) as s:  # put it back: the database is shared with the other test modules
        s.execute(ledger.insert().values(**removed))
    with session_factory() as s:
        assert verify_ledger(s) == []


def test_an_attempt_overtaken_by_a_concurrent_one_returns_its_document(  # type: ignore[no-untyped-def]
    setup, session_factory, monkeypatch
) -> None:
    """Rendering, signing and storing happen before the unit of work that records them: an attempt that a
    concurrent one (a retry racing a slow first try) overtakes meanwhile records nothing and returns its result."""
    import activities.contracts
    import activities.invoices
    from store.models.legal import ConsentRecord, ContractRecord, InvoiceRecord

    acts, _store, _settings, org_id, expert_id, client_user, _expert_user = setup
    request = _contract_request(org_id, expert_id, uuid.uuid4())

    def overtaken(target: object, name: str, concurrent: object) -> list[object]:
        """Patch `target.name` so that the next call first lets `concurrent()` run to the end."""
        original, results = getattr(target, name), []

        def racing(*args: object, **kwargs: object) -> object:
            monkeypatch.setattr(target, name, original)
            results.append(concurrent())  # type: ignore[operator]
            return original(*args, **kwargs)

        monkeypatch.setattr(target, name, racing)
        return results

    first = overtaken(activities.contracts, "render_contract", lambda: acts.render_contract(request))
    rendered = acts.render_contract(request)
    assert first == [rendered]

    sign = SignContractRequest(
        mission_id=request.mission_id, contract_id=rendered.document_id, party="client",
        signer_user_id=client_user, signed_at=datetime.now(UTC), expected_sha256=rendered.sha256,
    )  # fmt: skip
    first = overtaken(acts._signer, "sign", lambda: acts.sign_contract(sign))
    assert acts.sign_contract(sign) == first[0]

    invoice = MissionInvoiceRequest(
        mission_id=request.mission_id, milestone_id=f"race:{uuid.uuid4()}", contract_id=rendered.document_id,
        expert_id=expert_id, client_org_id=org_id, description="Jalon", amount=Money(amount=Decimal("100.00")),
        service_date=date(2026, 9, 1), issue_date=date(2026, 9, 2), language="fr",
    )  # fmt: skip
    first = overtaken(activities.invoices, "render_invoice", lambda: acts.issue_mission_invoice(invoice))
    assert acts.issue_mission_invoice(invoice) == first[0]

    with session_factory() as s:
        contracts = s.query(ContractRecord).filter_by(mission_id=request.mission_id).all()
        assert len(contracts) == 1
        assert s.query(ConsentRecord).filter_by(contract_id=contracts[0].id).count() == 1
        record = s.query(InvoiceRecord).filter_by(idempotency_key=invoice.milestone_id).one()
        assert record.document_id is not None
