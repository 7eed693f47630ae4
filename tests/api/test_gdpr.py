"""GDPR over the API on the real stack: a member downloads their data (a zip of data.json and their documents,
missions as they may see them), asks for erasure (refused while a running mission needs them; else the account is
pseudonymised and closed, the legal records kept), and a Temporal history holds no personal data in clear."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from cli.demo import PASSWORD, _ok
from config.settings import Settings
from config.temporal import apply_retention, connect
from store.models.community import AuditEntry, Expert, RefreshToken, User
from store.models.legal import InvoiceRecord
from tests.api.live import LOSER, REMOVED, LiveMission, build_live_mission, secrets_of

pytestmark = [pytest.mark.db, pytest.mark.devserver, pytest.mark.slow]


@pytest.fixture(scope="module")
async def live(
    dev_server_env: WorkflowEnvironment,
    engine: Engine,
    session_factory: sessionmaker[Session],
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[LiveMission]:
    """A mission of its own, in delivery with its first invoice (this module erases some of its parties)."""
    var = tmp_path_factory.mktemp("gdpr")
    async with build_live_mission(dev_server_env, engine, session_factory, var, through_first_invoice=True) as m:
        yield m


async def _export(live: LiveMission, place: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    answer = await live.api.get("/auth/me/export", headers=live.parties[place].headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert "attachment" in answer.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    return json.loads(files.pop("data.json")), files


async def test_a_member_exports_their_data_as_they_may_see_it(live: LiveMission) -> None:
    data, files = await _export(live, "expert_selected")
    expert = live.parties["expert_selected"]
    assert data["account"]["email"] == expert.email
    assert data["expert_profile"]["id"] == expert.member_id and data["expert_profile"]["bank"]["iban"]
    [mission] = [m for m in data["missions"] if m["mission"]["id"] == live.mission_id]
    assert any(m["invoice_number"] for m in mission["milestones"])
    assert [msg["body"] for msgs in mission["messages"].values() for msg in msgs] == ["Bonjour"]
    assert data["notifications"], "the notices of the mission are the member's too"
    pdfs = [name for name in files if name.startswith(f"documents/{live.mission_id}/")]
    assert any("contract" in n for n in pdfs) and any("mission_invoice" in n for n in pdfs), sorted(files)
    assert any(n.startswith("documents/membership/") for n in files), "the member's own fee invoice"
    assert all(files[n].startswith(b"%PDF") for n in pdfs if n.endswith(".pdf"))

    client_data, _ = await _export(live, "client_a")
    assert client_data["organisation"]["id"] == live.parties["client_a"].member_id
    assert "expert_profile" not in client_data


async def test_a_losing_candidate_export_holds_nothing_they_may_not_see(live: LiveMission) -> None:
    secrets = await secrets_of(live.api, live.mission_id, live.parties)
    for place in (LOSER, REMOVED):
        data, files = await _export(live, place)
        text = json.dumps(data, ensure_ascii=False)
        leaked = {s for s in secrets[place] if s in text}
        assert not leaked, f"{place} exports what they may not see: {leaked}"
        assert not [n for n in files if n.startswith(f"documents/{live.mission_id}/")], "no contract documents"


async def test_erasure_is_refused_while_a_running_mission_needs_the_member(live: LiveMission) -> None:
    body = {"password": PASSWORD, "otp": live.parties["expert_selected"].otp(), "confirm": True}
    answer = await live.api.post("/auth/me/erasure", json=body, headers=live.parties["expert_selected"].headers)
    assert answer.status_code == 409 and "running mission(s) still need you" in answer.text
    ops = await live.api.post("/auth/me/erasure", json=body | {"otp": None}, headers=live.parties["ops"].headers)
    assert ops.status_code == 403


async def test_erasure_pseudonymises_the_member_and_keeps_the_legal_records(
    live: LiveMission, session_factory: sessionmaker[Session], dev_server_env: WorkflowEnvironment
) -> None:
    removed = live.parties[REMOVED]
    api, headers = live.api, removed.headers
    with session_factory() as session:
        invoices_before = [
            (i.number, i.snapshot)
            for i in session.scalars(
                select(InvoiceRecord).where(InvoiceRecord.buyer_ref == f"expert:{removed.member_id}")
            )
        ]
    assert invoices_before, "the removed expert paid a fee: its invoice is a legal record"

    wrong = await api.post("/auth/me/erasure", json={"password": "not-it", "confirm": True}, headers=headers)
    assert wrong.status_code == 403 and "password" in wrong.text
    unconfirmed = await api.post(
        "/auth/me/erasure", json={"password": PASSWORD, "otp": removed.otp(), "confirm": False}, headers=headers
    )
    assert unconfirmed.status_code == 422 and "confirm" in unconfirmed.text
    no_code = await api.post("/auth/me/erasure", json={"password": PASSWORD, "confirm": True}, headers=headers)
    assert no_code.status_code == 403 and "otp" in no_code.text
    body = {"password": PASSWORD, "otp": removed.otp(), "confirm": True, "reason": "leaving the platform"}
    done = await _ok(api.post("/auth/me/erasure", json=body, headers=headers))
    assert "invoices and credit notes" in done["kept"]

    assert (await api.get("/auth/me", headers=headers)).status_code == 401, "the session is revoked at once"
    membership = await dev_server_env.client.get_workflow_handle(f"membership:{removed.member_id}").describe()
    assert membership.status == WorkflowExecutionStatus.TERMINATED, "no renewal invoice to an erased member"
    login = await api.post("/auth/login", json={"email": removed.email, "password": PASSWORD, "otp": removed.otp()})
    assert login.status_code == 401
    with session_factory() as session:
        user = session.scalars(select(User).where(User.expert_id == uuid.UUID(removed.member_id))).one()
        assert user.email.endswith("@erased.invalid") and user.full_name == "Erased member" and not user.is_active
        assert user.totp_secret is None
        tokens = session.scalars(select(RefreshToken).where(RefreshToken.user_id == user.id)).all()
        assert tokens and all(t.revoked_at is not None for t in tokens)
        expert = session.get(Expert, uuid.UUID(removed.member_id))
        assert expert is not None and expert.display_name == "Erased member" and expert.iban is None
        assert not expert.membership_active, "matching never proposes an erased expert"
        invoices_after = [
            (i.number, i.snapshot)
            for i in session.scalars(
                select(InvoiceRecord).where(InvoiceRecord.buyer_ref == f"expert:{removed.member_id}")
            )
        ]
        assert invoices_after == invoices_before, "issued invoices keep their data (ten years)"
        [audit] = session.scalars(select(AuditEntry).where(AuditEntry.target == f"user:{user.id}")).all()
        assert audit.action == "erasure" and audit.reason == "leaving the platform"
        assert removed.email not in json.dumps(audit.details)


async def test_a_temporal_history_holds_no_personal_data_in_clear(
    live: LiveMission, dev_server_env: WorkflowEnvironment
) -> None:
    client = live.parties["client_a"]
    detail = await _ok(live.api.get(f"/missions/{live.mission_id}", headers=client.headers))
    title = detail["mission"]["title"]
    personal = [title, client.email, "Démo Industrie SAS", "Jean Dupont", live.parties["expert_selected"].email]
    raw = await Client.connect(
        dev_server_env.client.service_client.config.target_host, namespace=dev_server_env.client.namespace
    )  # no codec: what the Temporal server stores and its Web UI shows without /codec
    for workflow_id in (f"mission:{live.mission_id}", f"mission:{live.mission_id}:milestone:1"):
        history = await raw.get_workflow_handle(workflow_id).fetch_history()
        stored = b"".join(e.SerializeToString() for e in history.events)
        found = [p for p in personal if p.encode() in stored]
        assert not found, f"{workflow_id} stores in clear: {found}"

    # the control: through the codec, the mission's input holds the title
    codec = await connect(live.settings)
    history = await codec.get_workflow_handle(f"mission:{live.mission_id}").fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes.input.payloads
    decoded = await codec.data_converter.payload_codec.decode(list(started))  # type: ignore[union-attr]
    assert any(title.encode() in p.data for p in decoded)


async def test_closed_workflows_are_kept_for_the_configured_retention(dev_server_env: WorkflowEnvironment) -> None:
    settings = Settings(environment="test", temporal_retention_days=45)
    await apply_retention(dev_server_env.client, settings)
    described = await dev_server_env.client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=dev_server_env.client.namespace)
    )
    assert described.config.workflow_execution_retention_ttl.ToTimedelta().days == 45
