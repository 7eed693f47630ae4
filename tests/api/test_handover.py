"""A handover over the API, on the real stack (Temporal dev server, real documents): during the delivery, ops hand
the undelivered milestone over to another expert; the amendment is a real PDF the client then the new expert sign
(each with a fresh authenticator code) and the platform seals; the new expert delivers and invoices under the
amendment (valid Factur-X, EN 16931); the outgoing expert keeps their invoiced milestone, confirms its payment and
sees their own part of the mission, never the new expert's invoice."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from cli.demo import Demo, _ok, _until
from documents.facturx import extract_facturx
from documents.schematron import SchematronValidator, applicable_rule_sets
from documents.signing import DevPki
from documents.verification import verify_document
from store.models.community import Expert
from tests.api.live import build_live_mission

pytestmark = [pytest.mark.db, pytest.mark.devserver]


async def test_ops_hand_the_mission_over_by_an_amendment_both_parties_sign(
    dev_server_env: WorkflowEnvironment, engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    async with build_live_mission(
        dev_server_env, engine, session_factory, tmp_path, through_first_invoice=True
    ) as live:
        api, client, old, new, ops = (
            live.api, *(live.parties[p] for p in ("client_a", "expert_selected", "expert_losing", "ops"))
        )  # fmt: skip
        base, demo = f"/missions/{live.mission_id}", Demo(api, console=None, out=tmp_path)  # type: ignore[arg-type]
        demo.mission_id = live.mission_id
        trust = DevPki(live.settings.keys_dir).ca_cert_path

        before = await _ok(api.get(f"{base}/state", headers=new.headers))
        assert before["contract"] is None and before["milestones"] == [], "a losing candidate sees nothing of it"
        due = (date.today() + timedelta(days=60)).isoformat()
        unable = live.parties["expert_unrelated"].member_id  # registered, fee unpaid: not in the directory
        ask: dict[str, Any] = {"from_expert_id": old.member_id, "to_expert_id": unable,
                               "reason": "the expert is on long sick leave", "due_date": due}  # fmt: skip
        refused = await api.post(f"/ops{base}/reassign", json=ask, headers=ops.headers)
        assert refused.status_code == 409 and "to_expert_id" in refused.text, "an expert who cannot take missions"
        past = await api.post(f"/ops{base}/reassign", json=ask | {"to_expert_id": new.member_id,
                                                                   "due_date": date.today().isoformat()},
                              headers=ops.headers)  # fmt: skip
        assert past.status_code == 409 and "due_date" in past.text
        view = await _ok(api.post(f"/ops{base}/reassign", json=ask | {"to_expert_id": new.member_id},
                                  headers=ops.headers))  # fmt: skip
        assert view["amendments"][0]["milestones"] == [2] and view["selected_expert_id"] == old.member_id

        for party in (client, new):
            state = await demo.wait_action(party, "sign_contract", "the amendment to sign")
            amendment = state["amendments"][0]
            assert amendment["contract"] is not None, "the party reads the amendment before signing it"
            sha = amendment["contract"]["document"]["sha256"]
            await _ok(api.post(f"{base}/contract/sign", json={"expected_sha256": sha, "otp": party.otp()},
                               headers=party.headers))  # fmt: skip

        async def handed_over() -> dict[str, Any] | None:
            state = (await api.get(f"{base}/state", headers=client.headers)).json()
            return state if state["amendments"][0]["handed_over_at"] else None

        state = await _until("the amendment sealed", handed_over, within=60)
        with session_factory() as session:  # the directory: the new expert busy until the due date, the first freed
            incoming, outgoing = (session.get_one(Expert, uuid.UUID(p.member_id)) for p in (new, old))
            assert incoming.engaged_until == date.fromisoformat(due) and outgoing.engaged_until is None
        assert state["selected_expert_id"] == new.member_id and state["former_expert_ids"] == [old.member_id]
        sealed = state["amendments"][0]["contract"]["sealed"]
        docs = await _ok(api.get(f"{base}/documents", headers=client.headers))
        pdf_id = next(d["id"] for d in docs if d["sha256"] == sealed["sha256"])
        pdf = (await api.get(f"{base}/documents/{pdf_id}", headers=client.headers)).content
        report = await asyncio.to_thread(verify_document, pdf, trust_root=trust)  # it runs its own event loop
        assert report.ok, report.summary()
        fields = [s.field_name for s in report.signatures]
        assert fields == ["ClientSignature", "ExpertSignature", "PlatformSeal"] and report.signatures[-1].timestamped

        files = {"file": ("livrable-2.pdf", b"%PDF-1.4\n% milestone 2, by the new expert\n", "application/pdf")}
        late = await api.post(f"{base}/milestones/2/deliverable", files=files, headers=old.headers)
        assert late.status_code == 404, "milestone 2 is no longer the outgoing expert's: they do not see it"
        await demo.wait_action(new, "submit_deliverable", "milestone 2 for the new expert", 2)
        await _ok(api.post(f"{base}/milestones/2/deliverable", files=files, headers=new.headers))
        await demo.wait_action(client, "review_deliverable", "milestone 2 to review", 2)
        await _ok(api.post(f"{base}/milestones/2/accept", json={}, headers=client.headers))
        await demo.wait_action(client, "confirm_payment", "the invoice of milestone 2", 2)

        async def invoices_of(party: Any) -> list[dict[str, Any]]:
            docs = (await api.get(f"{base}/documents", headers=party.headers)).json()
            return [d for d in docs if d["kind"] == "mission_invoice"]

        both = await _until("the new expert's invoice", lambda: _two(invoices_of(client)), within=60)
        firsts = await invoices_of(old)
        second = next(d for d in both if d not in firsts)
        xml = extract_facturx((await api.get(f"{base}/documents/{second['id']}", headers=client.headers)).content)
        assert xml is not None
        text = xml.decode()
        assert "Aiko" in text and "Jean Dupont" not in text, "the new expert is the seller"
        assert str(state["amendments"][0]["contract"]["document"]["document_id"])[:35] in text, "it refers to it"
        sets = [d.name for d in applicable_rule_sets(xml) if d.applies]
        assert sets == ["EN 16931", "FR-CTC"] and SchematronValidator().failed_asserts(xml, sets) == []

        # the outgoing expert: their own part, and their own invoice only
        theirs = await invoices_of(old)
        assert len(theirs) == 1 and theirs[0]["id"] != second["id"]
        assert (await api.get(f"{base}/documents/{second['id']}", headers=old.headers)).status_code == 404
        assert [m["number"] for m in (await _ok(api.get(f"{base}/state", headers=old.headers)))["milestones"]] == [1]
        assert len(await invoices_of(new)) == 1, "nor does the new expert see the first expert's invoice"
        paid = {"paid_on": date.today().isoformat(), "reference": "VIR-1"}
        await _ok(api.post(f"{base}/milestones/1/payment", json=paid, headers=old.headers))
        ledger = await _ok(api.get("/public/ledger"))
        assert any(t["contracts_amended"]["count"] >= 1 for t in ledger["totals"] if t["community"] == "mission")


async def _two(pending: Any) -> list[dict[str, Any]] | None:
    found: list[dict[str, Any]] = await pending
    return found if len(found) == 2 else None
