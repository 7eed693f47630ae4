"""A dispute over the API, on the real stack (Temporal dev server, real documents): the expert uploads evidence and
opens a dispute on the invoiced first milestone; the client answers; ops mediate in the thread and accept the
milestone in part: its invoice is cancelled by a credit note and a new invoice of the accepted amount is issued, all
valid Factur-X; the mission then goes on to its close. The evidence is stored encrypted."""

from __future__ import annotations

import hashlib
import html
import re
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from api.deps import ACCESS_COOKIE
from api.uploads import MAX_UPLOAD_BYTES
from api.web.core import CSRF_COOKIE, CSRF_FIELD, FLASH_COOKIE
from api.web.i18n import LANG_COOKIE
from cli.demo import Party, _ok, _until
from documents.facturx import extract_facturx
from documents.schematron import SchematronValidator, applicable_rule_sets
from documents.signing import DevPki
from documents.verification import verify_document
from store.models.community import AuditEntry
from store.models.legal import DocumentRecord
from tests.api.live import LiveMission, build_live_mission
from tests.documents.test_uploads import windows_executable

pytestmark = [pytest.mark.db, pytest.mark.devserver]
EVIDENCE = b"%PDF-1.4\n% minutes of the acceptance meeting: the client agreed to pay\n"


async def _task(live: LiveMission, party: Party, action: str) -> None:
    async def there() -> bool:
        tasks = (await live.api.get("/tasks", headers=party.headers)).json()
        return any(t["action"] == action for t in tasks)

    await _until(f"the task {action}", there, within=60)


def _valid(live: LiveMission, pdf: bytes, validator: SchematronValidator) -> None:
    report = verify_document(pdf, trust_root=DevPki(live.settings.keys_dir).ca_cert_path, expect_facturx=True)
    assert report.facturx == "valid", report.summary()
    xml = extract_facturx(pdf)
    assert xml is not None
    sets = [d.name for d in applicable_rule_sets(xml) if d.applies]
    assert validator.failed_asserts(xml, sets) == []


async def test_expert_disputes_with_evidence_and_ops_accept_in_part(
    dev_server_env: WorkflowEnvironment, engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    validator = SchematronValidator()
    async with build_live_mission(
        dev_server_env, engine, session_factory, tmp_path, through_first_invoice=True
    ) as live:
        api, client, expert, ops = live.api, *(live.parties[p] for p in ("client_a", "expert_selected", "ops"))
        base = f"/missions/{live.mission_id}"

        files = {"file": ("proces-verbal.pdf", EVIDENCE, "application/pdf")}
        evidence = await _ok(api.post(f"{base}/evidence", files=files, headers=expert.headers), 201)
        assert (
            evidence["sha256"] == hashlib.sha256(EVIDENCE).hexdigest() and evidence["media_type"] == "application/pdf"
        )
        stored = list((tmp_path / "documents").rglob("*"))
        assert not any(p.is_file() and EVIDENCE in p.read_bytes() for p in stored), "evidence is encrypted at rest"
        outsider = live.parties["client_b"]
        refused = await api.post(f"{base}/evidence", files=files, headers=outsider.headers)
        assert refused.status_code == 404
        forged = {"reason": "not paid", "milestone": 1, "evidence": [{"document_id": str(uuid.uuid4()),
                                                                       "sha256": evidence["sha256"]}]}  # fmt: skip
        answer = await api.post(f"{base}/dispute", json=forged, headers=expert.headers)
        assert answer.status_code == 422 and "evidence" in answer.text

        proof = [{"document_id": evidence["document_id"], "sha256": evidence["sha256"]}]
        body: dict[str, Any] = {"reason": "the client refuses to pay the accepted milestone", "milestone": 1,
                                "evidence": proof}  # fmt: skip
        view = await _ok(api.post(f"{base}/dispute", json=body, headers=expert.headers))
        assert view["stage"] == "disputed" and view["disputes"] == 1
        again = await api.post(f"{base}/dispute", json=body, headers=client.headers)
        assert again.status_code == 409 and "dispute 1 is open already" in again.text

        await _task(live, client, "answer_dispute")
        download = await api.get(f"{base}/evidence/{evidence['document_id']}", headers=client.headers)
        assert download.status_code == 200 and download.content == EVIDENCE
        early = await api.post(f"/ops{base}/disputes/1/decide", json={"outcome": "continue", "reason": "too early"},
                               headers=ops.headers)  # fmt: skip
        assert early.status_code == 409 and "mediation" in early.text
        answered = await _ok(api.post(f"{base}/disputes/1/answer", json={"statement": "only half of it is usable"},
                                      headers=client.headers))  # fmt: skip
        assert answered["stage"] == "mediation" and answered["answer"]["party"] == "client"

        thread = f"/ops{base}/threads/{expert.member_id}/messages"
        said = await _ok(api.post(thread, json={"body": "Could you both accept 3000 EUR?"}, headers=ops.headers), 201)
        with session_factory() as s:
            audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "mediate_dispute")).all()
            assert any(a.details["message_id"] == said["id"] for a in audit)
        seen = await _ok(api.get(f"{base}/threads/{expert.member_id}/messages", headers=client.headers))
        assert seen[-1]["body"] == "Could you both accept 3000 EUR?"

        too_much = {"outcome": "partial", "reason": "settled", "amount": "3600.01"}
        refused = await api.post(f"/ops{base}/disputes/1/decide", json=too_much, headers=ops.headers)
        assert refused.status_code == 409 and "amount" in refused.text
        partial = {"outcome": "partial", "reason": "both accept 3000 EUR", "amount": "3000.00"}
        decided = await _ok(api.post(f"/ops{base}/disputes/1/decide", json=partial, headers=ops.headers))
        assert decided["stage"] == "decided" and decided["decision"]["amount"] == "3000.00"

        async def corrected() -> list[dict[str, Any]] | None:
            docs = (await api.get(f"{base}/documents", headers=client.headers)).json()
            kinds = [d["kind"] for d in docs]
            return docs if kinds.count("mission_invoice") == 2 and "credit_note" in kinds else None

        docs = await _until("the credit note and the new invoice", corrected, within=60)
        invoices = [d for d in docs if d["kind"] in ("mission_invoice", "credit_note")]
        for doc in invoices:
            pdf = (await api.get(f"{base}/documents/{doc['id']}", headers=client.headers)).content
            _valid(live, pdf, validator)
        state = await _ok(api.get(f"{base}/state", headers=client.headers))
        first = state["milestones"][0]
        assert first["partial"] and first["amount"]["amount"] == "3000.00" and first["credit_note"] is not None

        await _task(live, client, "confirm_payment")
        paid = {"paid_on": date.today().isoformat(), "reference": "VIR-1"}
        await _ok(api.post(f"{base}/milestones/1/payment", json=paid, headers=client.headers))
        await _task(live, expert, "submit_deliverable")
        deliverable = {"file": ("livrable-2.pdf", b"%PDF-1.4\n% milestone 2\n", "application/pdf")}
        await _ok(api.post(f"{base}/milestones/2/deliverable", files=deliverable, headers=expert.headers))
        await _task(live, client, "review_deliverable")
        await _ok(api.post(f"{base}/milestones/2/accept", json={}, headers=client.headers))
        for party, action in ((client, "rate_expert"), (expert, "rate_client")):
            await _task(live, party, action)
            await _ok(api.post(f"{base}/rating", json={"score": 4}, headers=party.headers))
        await _task(live, client, "confirm_payment")
        await _ok(api.post(f"{base}/milestones/2/payment", json=paid | {"reference": "VIR-2"}, headers=client.headers))

        async def closed() -> bool:
            detail = (await api.get(base, headers=client.headers)).json()
            return bool(detail["mission"]["stage"] == "closed")

        await _until("the mission to close", closed, within=60)
        ledger = await _ok(api.get("/public/ledger"))
        assert any(t["credit_notes"]["count"] >= 1 for t in ledger["totals"] if t["community"] == "mission")


async def _portal_form(
    live: LiveMission, role: str, path: str, form: dict[str, str], files: list[tuple[str, bytes]], lang: str
) -> httpx.Response:
    """A form sent from the portal's mission page by this party (its cookie, the CSRF token, the page's language),
    its files in the `evidence` field."""
    live.api.cookies.clear()
    csrf = (await live.api.get("/portal/login")).cookies.get(CSRF_COOKIE) or ""
    live.api.cookies.clear()
    cookie = f"{CSRF_COOKIE}={csrf}; {ACCESS_COOKIE}={live.tokens[role]}; {LANG_COOKIE}={lang}"
    parts = [("evidence", (name, content, "application/octet-stream")) for name, content in files]
    return await live.api.post(path, data={CSRF_FIELD: csrf, **form}, files=parts, headers={"Cookie": cookie})


async def test_a_refused_evidence_file_is_named_on_the_page_and_no_dispute_opens(
    live_mission: LiveMission, session_factory: sessionmaker[Session]
) -> None:
    """The expert attaches a genuine PDF and one bad file to the portal's dispute form: the page says which file was
    refused and why, in the reader's language; the dispute is not opened, and not even the good PDF is kept."""
    live, expert = live_mission, live_mission.parties["expert_selected"]
    page = f"/portal/missions/{live.mission_id}"

    def evidence_kept() -> int:
        mission_id = uuid.UUID(live.mission_id)
        with session_factory() as s:
            of_mission = DocumentRecord.mission_id == mission_id
            return s.scalar(select(func.count()).where(of_mission, DocumentRecord.kind == "evidence")) or 0

    before = evidence_kept()
    statement = {"reason": "the client asks for work outside the contract", "milestone": "1"}
    refused = [
        ("scan.pdf", windows_executable(), "en",
         "“scan.pdf” was not accepted: its content is application/x-msdownload (.exe), which is not accepted; "
         "accepted: .pdf,"),
        ("blank.pdf", b"", "en", "“blank.pdf” was not accepted: it is empty. Nothing was sent"),
        ("huge.pdf", b"%PDF-1.4\n" + b"0" * MAX_UPLOAD_BYTES, "en",
         "“huge.pdf” was not accepted: it is larger than 25 MB. Nothing was sent"),
        ("vide.pdf", b"", "fr", "« vide.pdf » n'a pas été accepté : il est vide. Rien n'a été envoyé"),
    ]  # fmt: skip
    for name, content, lang, said in refused:
        sent = await _portal_form(live, "expert_selected", f"{page}/act/open_dispute", statement,
                                  [("proces-verbal.pdf", EVIDENCE), (name, content)], lang)  # fmt: skip
        assert sent.status_code == 303 and sent.headers["location"] == page, sent.text
        # the mission page the browser is sent back to shows the message
        flash = f"{FLASH_COOKIE}={sent.cookies[FLASH_COOKIE]}"
        cookie = f"{ACCESS_COOKIE}={live.tokens['expert_selected']}; {LANG_COOKIE}={lang}; {flash}"
        live.api.cookies.clear()
        shown = await live.api.get(page, headers={"Cookie": cookie})
        assert shown.status_code == 200
        message = re.search(r'class="flash flash-error" role="alert">([^<]*)<', shown.text)
        assert message is not None and said in html.unescape(message[1]), shown.text[:3000]

    state = await _ok(live.api.get(f"/missions/{live.mission_id}/state", headers=expert.headers))
    assert state["disputes"] == 0 and state["stage"] != "disputed", "no dispute opened with part of its evidence"
    assert evidence_kept() == before, "no file kept, not even the genuine PDF sent with the refused one"
