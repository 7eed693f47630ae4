"""Ops repair over the API on the real stack (dev server, in-process workers): a milestone whose invoice cannot be
issued (the expert's VAT number went missing) parks in needs_attention; ops find it in the queue with its reason and
by a search-attribute query (dry-run count), fix the expert's legal data (validated, versioned, audited), resume it
through a batch (the count confirmed), and extend its payment deadline. The issued invoice states the fixed number
and never changes when the legal data changes again."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from cli.demo import Demo, _ok, _until
from store.models.community import AuditEntry, Expert
from store.models.legal import InvoiceRecord
from tests.api.live import LiveMission, build_live_mission

pytestmark = [pytest.mark.db, pytest.mark.devserver, pytest.mark.slow]

FIXED_VAT = "FR44732829320"


@pytest.fixture(scope="module")
async def live(
    dev_server_env: WorkflowEnvironment,
    engine: Engine,
    session_factory: sessionmaker[Session],
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[LiveMission]:
    """A mission of its own at the contract stage (this module changes it)."""
    var = tmp_path_factory.mktemp("repair")
    async with build_live_mission(dev_server_env, engine, session_factory, var) as mission:
        yield mission


async def test_ops_fix_a_partys_tax_id_then_resume_the_parked_milestone(
    live: LiveMission, session_factory: sessionmaker[Session]
) -> None:
    api, ops = live.api, live.parties["ops"].headers
    client, expert = live.parties["client_a"], live.parties["expert_selected"]
    base, mission_id = f"/missions/{live.mission_id}", live.mission_id
    milestone = f"mission:{mission_id}:milestone:1"
    demo = Demo(api, console=None, out=live.settings.keys_dir)  # type: ignore[arg-type]
    demo.mission_id = mission_id
    for party in (client, expert):
        view = await demo.wait_action(party, "sign_contract", "the contract")
        body = {"expected_sha256": view["contract"]["document"]["sha256"], "otp": party.otp()}
        await _ok(api.post(f"{base}/contract/sign", json=body, headers=party.headers))
    await demo.wait_action(expert, "submit_deliverable", "milestone 1 to deliver", 1)
    files = {"file": ("livrable-1.pdf", b"%PDF-1.4\n% milestone 1\n", "application/pdf")}
    await _ok(api.post(f"{base}/milestones/1/deliverable", files=files, headers=expert.headers))
    await demo.wait_action(client, "review_deliverable", "milestone 1 to review", 1)
    with session_factory() as session:  # a bad data fix wiped the VAT-registered expert's VAT number
        vetted = session.get(Expert, uuid.UUID(expert.member_id))
        assert vetted is not None
        VETTED_VAT = vetted.vat_number  # noqa: N806 - the number the onboarding approved
        session.execute(update(Expert).where(Expert.id == uuid.UUID(expert.member_id)).values(vat_number=None))
        session.commit()
    await _ok(api.post(f"{base}/milestones/1/accept", json={}, headers=client.headers))

    # the queue shows the parked milestone with its reason
    async def parked() -> list[dict[str, Any]]:
        queue = await _ok(api.get("/ops/attention", headers=ops))
        return [p for p in queue if p["workflow_id"] == milestone]

    [item] = await _until("the milestone in the needs-attention queue", parked, within=120)
    assert item["milestone"] == 1 and item["mission_id"] == mission_id
    assert "a VAT-registered seller must have a VAT number" in item["reason"]
    assert (await api.get("/ops/attention", headers=client.headers)).status_code == 403
    inspected = await _ok(api.get(f"/ops/missions/{mission_id}", headers=ops))
    failures = [e["failure"] for e in inspected["milestones"][milestone] if e["failure"]]
    assert any("a VAT-registered seller must have a VAT number" in f for f in failures), "decoded for ops"

    # the legal data: refused with the field named, then fixed (a new version, audited); no resume yet
    legal = f"/ops/parties/experts/{expert.member_id}/legal"
    before = await _ok(api.get(legal, headers=ops))
    assert before["data"]["vat_number"] is None and [p["workflow_id"] for p in before["parked"]] == [milestone]
    wrong = await api.put(legal, json={"changes": {"vat_number": "FR12345678901"}, "reason": "typo"}, headers=ops)
    assert wrong.status_code == 422 and "vat_number" in wrong.text and "check digit" in wrong.text, wrong.text
    unknown = await api.put(legal, json={"changes": {"rating": "5"}, "reason": "nope"}, headers=ops)
    assert unknown.status_code == 422 and "changes.rating: not a legal field" in unknown.text
    fixed = await _ok(
        api.put(
            legal,
            json={"changes": {"vat_number": "FR 44 732 829 320"}, "reason": "number from the expert", "resume": False},
            headers=ops,
        )
    )
    assert fixed == {"version": 2, "changed": ["vat_number"], "resumed": []}
    no_iban = await api.put(legal, json={"changes": {"iban": None}, "reason": "account closed"}, headers=ops)
    assert no_iban.status_code == 422 and "changes.iban: an expert in FR (SEPA) is paid to an IBAN" in no_iban.text
    after = await _ok(api.get(legal, headers=ops))
    assert after["data"]["vat_number"] == FIXED_VAT
    # version 1: as vetted at onboarding (the bad fix above went around the versions); version 2: ops' fix
    assert [(v["version"], v["status"], v["changed"], v["data"]["vat_number"]) for v in after["versions"]] == [
        (1, "superseded", [], VETTED_VAT),
        (2, "approved", ["vat_number"], FIXED_VAT),
    ]

    # batch retry: the dry-run count first, a batch with another count is refused, then the confirmed one
    query = f'MissionStage = "milestone:needs_attention" AND ClientOrg = "{client.member_id}"'

    async def counted() -> int:
        answer = await _ok(api.get("/ops/batch/count", params={"where": query}, headers=ops))
        return int(answer["count"])

    assert await _until("the search attributes to show it", counted, within=60) == 1
    bad = await api.get("/ops/batch/count", params={"where": "MissionStage = = 1"}, headers=ops)
    assert bad.status_code == 422 and bad.json()["detail"].startswith("where:"), bad.text
    batch = {"action": "resume", "where": query, "reason": "VAT number fixed"}
    stale = await api.post("/ops/batch", json=batch | {"expected_count": 3}, headers=ops)
    assert stale.status_code == 409 and "matches 1 workflows now, not 3" in stale.text
    done = await _ok(api.post("/ops/batch", json=batch | {"expected_count": 1}, headers=ops))
    assert (done["count"], done["done"], done["refused"]) == (1, 1, 0)
    assert done["outcomes"] == [{"workflow_id": milestone, "outcome": "done"}]

    view = await demo.wait_action(client, "confirm_payment", "the invoice of milestone 1", 1)
    assert not [p for p in await _ok(api.get("/ops/attention", headers=ops)) if p["mission_id"] == mission_id]

    # extend the payment deadline of the milestone (the route the escalation task points at)
    state = await _ok(api.get(f"/ops/missions/{mission_id}", headers=ops))
    [m1] = [m for m in state["state"]["milestones"] if m["number"] == 1]
    payment = next(d for d in m1["deadlines"] if d["key"] == "payment")
    extend = f"/ops/missions/{mission_id}/milestones/1/extend"
    past = {"key": "payment", "new_due": (datetime.now(UTC) - timedelta(days=1)).isoformat(), "reason": "x"}
    refused = await api.post(extend, json=past, headers=ops)
    assert refused.status_code == 409 and "the new due date must be in the future" in refused.text
    later = datetime.fromisoformat(payment["due"]) + timedelta(days=30)
    moved = await _ok(
        api.post(extend, json={"key": "payment", "new_due": later.isoformat(), "reason": "agreed"}, headers=ops)
    )
    assert next(d for d in moved["deadlines"] if d["key"] == "payment")["due"].startswith(later.date().isoformat())

    # the invoice states the fixed number; another edit of the legal data leaves it as issued
    await _ok(
        api.put(legal, json={"changes": {"city": "Talence", "postcode": "33400"}, "reason": "moved"}, headers=ops)
    )
    with session_factory() as session:
        invoice = session.scalars(
            select(InvoiceRecord).where(
                InvoiceRecord.mission_id == uuid.UUID(mission_id), InvoiceRecord.kind == "mission_invoice"
            )
        ).one()
        assert invoice.snapshot["seller"]["vat_number"] == FIXED_VAT
        assert invoice.snapshot["seller"]["address"]["city"] == "Bordeaux"
        audit = list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.target.in_([f"expert:{expert.member_id}", "batch", milestone]))
            )
        )
    actions = {(a.action, a.target) for a in audit}
    assert ("edit_legal_data", f"expert:{expert.member_id}") in actions
    assert ("read_legal_data", f"expert:{expert.member_id}") in actions, "reading bank details is audited"
    assert ("resume", milestone) in actions and ("extend_deadline", milestone) in actions
    [batch_row] = [a for a in audit if a.action == "batch:resume" and a.details["query"] == query]
    assert batch_row.details["count"] == "1" and batch_row.reason == "VAT number fixed"
    assert view["milestones"] is not None
