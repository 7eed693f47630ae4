"""`innot demo` end to end on the real dev server: a complete mission through the HTTP API, with real matching,
documents and signatures; then what it left behind is checked like an auditor would."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from api.routers.missions import detail_of
from cli.demo import DEMO_MESSAGE, demo_main
from config.settings import Settings
from documents.signing import DevPki
from documents.verification import verify_document
from store.models.community import User
from store.models.readmodel import MissionRecord

pytestmark = [pytest.mark.db, pytest.mark.devserver]


@pytest.fixture
def demo_settings(database_url: str, tmp_path: Path, dev_server_env: WorkflowEnvironment) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        temporal_address=dev_server_env.client.service_client.config.target_host,
        document_store=f"file://{tmp_path / 'documents'}",
        keys_dir=tmp_path / "keys",
        task_queue=f"demo-{tmp_path.name}",
        documents_task_queue=f"demo-docs-{tmp_path.name}",
    )


async def test_demo_closes_a_mission_and_leaves_verifiable_documents(
    demo_settings: Settings,
    tmp_path: Path,
    session_factory: sessionmaker[Session],
    dev_server_env: WorkflowEnvironment,
) -> None:
    out = tmp_path / "out"
    stage = await demo_main(demo_settings, Console(width=120, record=True), out)
    assert stage == "closed"

    written = sorted(p.name for p in out.iterdir())
    assert [n.split("-")[0] for n in written] == ["contract", "mission_invoice", "mission_invoice"], written
    trust = DevPki(demo_settings.keys_dir).ca_cert_path
    for pdf in out.iterdir():  # pyHanko's validator runs its own event loop: off this one
        report = await asyncio.to_thread(verify_document, pdf.read_bytes(), trust_root=trust)
        assert report.ok, f"{pdf.name}: {report.summary()}"
        if pdf.name.startswith("contract"):
            # client, expert, then the platform seal with its timestamp, checked against the development CA too
            assert [s.timestamped for s in report.signatures] == [False, False, True]

    with session_factory() as session:
        mission = session.query(MissionRecord).order_by(MissionRecord.created_at.desc()).first()
        assert mission is not None and mission.stage == "closed"
        # the materialised detail the API serves equals the one rebuilt from the read-model tables, for each party
        client = session.scalar(select(User).where(User.organisation_id == mission.client_org_id))
        expert = session.scalar(select(User).where(User.expert_id == mission.selected_expert_id))
        assert client is not None and expert is not None and mission.detail is not None
        for party in (client, expert):
            served = detail_of(session, mission, party)
            rebuilt = detail_of(session, MissionRecord(**{**_columns(mission), "detail": None}), party)
            assert served == rebuilt
            assert len(served.timeline) > 20 and len(served.milestones) == 2
        dump = " ".join(str(v) for row in session.execute(text("SELECT body_sealed FROM messages")) for v in row)
    assert "Pouvons-nous" not in dump and "9 000" not in dump

    # The Temporal history holds no message text, name, e-mail or need title in clear (payloads are encrypted).
    raw = b""
    for workflow_id in (mission.workflow_id, f"{mission.workflow_id}:milestone:1"):
        handle = dev_server_env.client.get_workflow_handle(workflow_id)
        async for event in handle.fetch_history_events():
            raw += event.SerializeToString()
    assert len(raw) > 10_000
    for secret in (DEMO_MESSAGE, "Refonte du budget", "Jean Dupont", "Claire Martin", "demo-client.example", "Osaka"):
        assert secret.encode() not in raw, f"{secret!r} found in clear in the Temporal history"


def _columns(row: MissionRecord) -> dict[str, object]:
    return {c.key: getattr(row, c.key) for c in inspect(MissionRecord).column_attrs}
