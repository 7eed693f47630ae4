"""`innot documents verify` and `innot ledger verify|export` on documents really issued by the document
activities (rendered, signed, sealed, Factur-X), then on tampered copies."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import facturx
import pytest
import typer
from sqlalchemy import Table, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from activities.documents import DocumentActivities
from cli.documents import documents_app, ledger_app
from config.settings import Settings, get_settings
from documents.facturx import extract_facturx
from documents.rendering import Renderer
from documents.store import LocalDocumentStore
from domain.documents import ContractRequest, MissionInvoiceRequest, SealContractRequest, SignContractRequest
from domain.money import Money
from domain.terms import MilestonePlan, ProposalTerms
from store.db import transaction
from store.models.community import User
from store.models.legal import LedgerEntry
from tests.workflows.test_membership import new_expert, new_organisation

pytestmark = pytest.mark.db
runner = CliRunner()
# mounted as cli/main.py mounts them: `innot documents ...`, `innot ledger ...`
innot = typer.Typer()
innot.add_typer(documents_app, name="documents")
innot.add_typer(ledger_app, name="ledger")


@pytest.fixture(scope="module")
def issued(
    session_factory: sessionmaker[Session], database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    root: Path = tmp_path_factory.mktemp("cli")
    settings = Settings(environment="test", keys_dir=root / "keys", document_store=f"file://{root / 'docs'}")
    store = LocalDocumentStore(root / "docs")
    docs = DocumentActivities(session_factory, store, Renderer(), settings)
    org_id, expert_id = new_organisation(session_factory), new_expert(session_factory)
    with transaction(session_factory) as s:
        users = [
            User(email=f"{role}-{uuid.uuid4().hex[:8]}@example.com", full_name=name, password_hash="x", role=role,
                 organisation_id=org_id if role == "client" else None,
                 expert_id=expert_id if role == "expert" else None)
            for role, name in (("client", "Claire Client"), ("expert", "Jean Martin"))
        ]  # fmt: skip
        s.add_all(users)
        s.flush()
        client_user, expert_user = users[0].id, users[1].id
    mission_id = uuid.uuid4()
    terms = ProposalTerms(
        approach="Diagnostic puis plan d'action.",
        pricing="fixed",
        milestones=[MilestonePlan(title="Diagnostic", amount=Decimal("2000.00"), due_date=date(2031, 4, 1))],
    )
    contract = docs.render_contract(
        ContractRequest(
            mission_id=mission_id, client_org_id=org_id, expert_id=expert_id, mission_title="Plan de trésorerie",
            language="fr", confidential=True, terms=terms, total=Money(amount=Decimal("2000.00")),
        )
    )  # fmt: skip
    sha = contract.sha256
    for party, user in (("client", client_user), ("expert", expert_user)):
        sha = docs.sign_contract(
            SignContractRequest(
                mission_id=mission_id, contract_id=contract.document_id, party=party,
                signer_user_id=user, signed_at=datetime.now(UTC), expected_sha256=sha,
            )
        ).sha256  # fmt: skip
    sealed = docs.seal_contract(SealContractRequest(mission_id=mission_id, contract_id=contract.document_id))
    invoice = docs.issue_mission_invoice(
        MissionInvoiceRequest(
            mission_id=mission_id, milestone_id=f"mission:{mission_id}:milestone:1", contract_id=contract.document_id,
            expert_id=expert_id, client_org_id=org_id, description="Diagnostic",
            amount=Money(amount=Decimal("2000.00")),
            service_date=date(2031, 4, 1), issue_date=date(2031, 4, 2), language="fr",
        )
    )  # fmt: skip
    files = {"contract": root / "contract.pdf", "invoice": root / f"{invoice.number}.pdf"}
    files["contract"].write_bytes(store.get(sealed.sha256))
    files["invoice"].write_bytes(store.get(invoice.sha256))
    return {"settings": settings, "files": files, "database_url": database_url, "root": root}


@pytest.fixture
def cli_env(issued: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The CLI reads its settings from the environment, like `innot` in a shell."""
    settings: Settings = issued["settings"]
    monkeypatch.setenv("INNOT_DATABASE_URL", issued["database_url"])
    monkeypatch.setenv("INNOT_KEYS_DIR", str(settings.keys_dir))
    monkeypatch.setenv("INNOT_DOCUMENT_STORE", settings.document_store)
    get_settings.cache_clear()
    yield issued
    get_settings.cache_clear()


def test_a_sealed_contract_verifies(cli_env: dict[str, Any]) -> None:
    result = runner.invoke(innot, ["documents", "verify", str(cli_env["files"]["contract"])])
    assert result.exit_code == 0, result.output
    assert re.findall(r"signature (\w+) by", result.output) == ["ClientSignature", "ExpertSignature", "PlatformSeal"]
    text = " ".join(result.output.split())  # the console wraps long lines
    stamp = r"signature PlatformSeal by .+? seal\b.*?, timestamped [\d-]{10} [\d:]{8} UTC by .+?timestamp authority"
    assert re.search(stamp, text), text
    assert "issued by the platform: contract (sealed)" in result.output and "OK" in result.output


def test_a_modified_contract_is_refused_with_the_reason(cli_env: dict[str, Any], tmp_path: Path) -> None:
    pdf = bytearray(cli_env["files"]["contract"].read_bytes())
    pdf[pdf.index(b"stream", len(pdf) // 3) + 20] ^= 0x01  # one bit inside the signed content
    tampered = tmp_path / "contract.pdf"
    tampered.write_bytes(bytes(pdf))
    result = runner.invoke(innot, ["documents", "verify", str(tampered)])
    assert result.exit_code == 1, result.output
    assert "INVALID" in result.output
    assert "modified after signing" in result.output or "cannot be validated" in result.output
    assert "not among the documents the platform issued" in result.output


def test_an_invoice_verifies_with_xsd_and_both_schematrons(cli_env: dict[str, Any]) -> None:
    result = runner.invoke(innot, ["documents", "verify", str(cli_env["files"]["invoice"])])
    assert result.exit_code == 0, result.output
    assert "XSD valid, 0 schematron rule(s) failed" in result.output
    assert "issued by the platform: mission_invoice FA-" in result.output


def test_an_invoice_whose_xml_was_altered_names_the_broken_rules(cli_env: dict[str, Any], tmp_path: Path) -> None:
    original = cli_env["files"]["invoice"].read_bytes()
    xml = extract_facturx(original)
    assert xml is not None
    altered = re.sub(rb"<ram:GrandTotalAmount>[^<]+<", b"<ram:GrandTotalAmount>1.00<", xml)
    assert altered != xml
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(facturx.generate_from_binary(original, altered, flavor="factur-x", check_xsd=True))
    result = runner.invoke(innot, ["documents", "verify", str(forged)])
    assert result.exit_code == 1, result.output
    assert "BR-CO-15" in result.output  # grand total = total without VAT + VAT
    offline = runner.invoke(innot, ["documents", "verify", "--offline", str(forged)])
    assert offline.exit_code == 1 and "not among" not in offline.output


def test_ledger_verify_and_export(
    cli_env: dict[str, Any], session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ok = runner.invoke(innot, ["ledger", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "ledger intact" in ok.output

    out = tmp_path / "export" / "ledger.csv"
    exported = runner.invoke(innot, ["ledger", "export", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("period,community,kind,currency,count,total,commission\n")
    assert ",mission_invoice_issued," in text and ",contract_signed," in text

    ledger = cast(Table, LedgerEntry.__table__)
    with session_factory() as s:
        entry = s.query(LedgerEntry).filter(LedgerEntry.kind == "contract_signed").first()
        assert entry is not None
        sequence, note = entry.sequence, entry.note
    with transaction(session_factory) as s:
        s.execute(update(ledger).where(ledger.c.sequence == sequence).values(note="edited quietly"))
    try:
        broken = runner.invoke(innot, ["ledger", "verify"])
        assert broken.exit_code == 1, broken.output
        assert f"entry {sequence}: content does not match its hash (edited)" in broken.output
    finally:
        with transaction(session_factory) as s:
            s.execute(update(ledger).where(ledger.c.sequence == sequence).values(note=note))
    assert runner.invoke(innot, ["ledger", "verify"]).exit_code == 0
