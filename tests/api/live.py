"""A real mission for API tests that need real data: the app in process on the Temporal dev server, with
in-process workers (as `innot demo` runs), one shared mission brought to the contract stage through the API.

Parties: client A (the mission's organisation), client B (another organisation), the selected expert (invited,
proposed, selected), an unrelated expert (never invited), and ops. Session-scoped: built once per test process.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from api.account_mail import Outbox
from api.app import create_app
from api.security import hash_password
from cli.demo import (
    PASSWORD,
    Demo,
    Party,
    _login,
    _ok,
    enrol_second_factor,
    need,
    open_account,
    pay_fees,
    proposal,
    register_parties,
)
from config.settings import Settings
from config.temporal import connect
from store import accounts
from store.db import transaction
from store.models.legal import DocumentRecord, InvoiceRecord
from tests.api.conftest import expert_registration
from worker import build_workers


@dataclass
class LiveMission:
    """The shared mission, its parties (with bearer headers and access tokens) and the app serving it."""

    app: FastAPI
    api: httpx.AsyncClient
    settings: Settings
    mission_id: str
    parties: dict[str, Party]
    tokens: dict[str, str]
    document_id: str
    fee_invoice: str
    extra: dict[str, Any] = field(default_factory=dict)


async def _register_unrelated(api: httpx.AsyncClient, tag: str, outbox: Outbox) -> tuple[Party, Party]:
    """A client of another organisation and an expert no need of the mission matches (German, HR)."""
    client_b = Party(f"bob.{tag}@other-client.example")
    org = {
        "legal_name": "Autre Société SA",
        "legal_form": "SA",
        "siret": "73282932000074",
        "vat_number": "FR44732829320",
        "billing_email": "compta@other-client.example",
        "address_line": "3 rue de la Paix",
        "postcode": "75002",
        "city": "Paris",
        "country": "FR",
    }
    account = {"email": client_b.email, "full_name": "Bob Autre", "password": PASSWORD}
    reg = await _ok(api.post("/auth/register/client", json={"account": account, "organisation": org}), 201)
    client_b.member_id = reg["member_id"]
    stranger = Party(f"hans.{tag}@other-expert.example")
    # French, like the conftest expert, but speaking only German: the need (French and Japanese) excludes him.
    payload = expert_registration(stranger.email, display_name="Hans Fremd", languages=["de"])
    payload["account"]["password"] = PASSWORD
    reg = await _ok(api.post("/auth/register/expert", json=payload), 201)
    stranger.member_id = reg["member_id"]
    for party in (client_b, stranger):
        await open_account(api, party, outbox)
    return client_b, stranger


async def _to_contract(demo: Demo, client: Party, experts: list[Party]) -> None:
    """The demo's first steps: shortlist, invitations, proposals, selection of the first expert."""
    post = demo.api.post
    created = await _ok(post("/missions", json=need(), headers=client.headers), 201)
    demo.mission_id = created["mission_id"]
    shown = await demo.api.get(f"/missions/{demo.mission_id}", headers=client.headers)
    assert shown.status_code == 200, "a new mission is on its page at once: its creator opens it next"
    view = await demo.wait_action(client, "review_shortlist", "the shortlist")
    ours = {e.member_id for e in experts}
    others = [c["expert_id"] for c in view["shortlist"] if c["expert_id"] not in ours]
    base = f"/missions/{demo.mission_id}"
    if others:
        await _ok(post(f"{base}/shortlist/remove", json={"remove_expert_ids": others}, headers=client.headers))
    await _ok(post(f"{base}/invitations/start", json={}, headers=client.headers))
    for expert in experts:
        await demo.wait_action(expert, "answer_invitation", "the invitation")
        await _ok(post(f"{base}/invitation/accept", json={}, headers=expert.headers))
    for expert in experts:
        await demo.wait_action(expert, "submit_proposal", "the proposal window")
        await _ok(post(f"{base}/proposal", json=proposal("900.00"), headers=expert.headers))
    chosen = experts[0]
    thread = f"{base}/threads/{chosen.member_id}/messages"
    await _ok(post(thread, json={"body": "Bonjour"}, headers=client.headers), 201)
    await demo.wait_action(client, "select_proposal", "the proposals to compare")
    await _ok(post(f"{base}/proposals/select", json={"expert_id": chosen.member_id}, headers=client.headers))
    await demo.wait_action(client, "sign_contract", "the contract")


@asynccontextmanager
async def build_live_mission(
    dev_server_env: WorkflowEnvironment, engine: Engine, session_factory: sessionmaker[Session], var: Path
) -> AsyncIterator[LiveMission]:
    """The app with its own workers and task queues, and a fresh mission at the contract stage."""
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        environment="test",
        database_url=engine.url.render_as_string(hide_password=False),
        temporal_address=dev_server_env.client.service_client.config.target_host,
        document_store=f"file://{var / 'documents'}",
        keys_dir=var / "keys",
        task_queue=f"live-{tag}",
        documents_task_queue=f"live-docs-{tag}",
    )
    client = await connect(settings)
    app = create_app(settings, engine=engine, temporal=client)
    app.state.owns_engine = False
    outbox = Outbox.install(app)
    workers = build_workers(client, settings)
    running = [asyncio.create_task(w.run()) for w in workers]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://innot.test", timeout=60) as api:
            ops = Party(f"ops.{tag}@ops.example")
            password_hash = await hash_password(PASSWORD)
            with transaction(session_factory) as session:
                accounts.create_user(
                    session, email=ops.email, full_name="Olga Ops", password_hash=password_hash, role="ops"
                )
            await _login(api, ops)
            await enrol_second_factor(api, ops)
            client_a, experts = await register_parties(api, tag, outbox)
            client_b, stranger = await _register_unrelated(api, tag, outbox)
            await pay_fees(api, ops, [client_a, *experts])
            demo = Demo(api, console=None, out=var)  # type: ignore[arg-type]
            await _to_contract(demo, client_a, experts)
            with session_factory() as session:
                document = session.scalars(
                    select(DocumentRecord).where(DocumentRecord.mission_id == uuid.UUID(demo.mission_id))
                ).first()
                fee = session.scalars(
                    select(InvoiceRecord).where(InvoiceRecord.buyer_ref == f"client_organisation:{client_a.member_id}")
                ).first()
            assert document is not None and fee is not None
            parties = {
                "client_a": client_a,
                "client_b": client_b,
                "expert_selected": experts[0],
                "expert_unrelated": stranger,
                "ops": ops,
            }
            tokens = {name: p.headers["Authorization"].removeprefix("Bearer ") for name, p in parties.items()}
            yield LiveMission(
                app=app,
                api=api,
                settings=settings,
                mission_id=demo.mission_id,
                parties=parties,
                tokens=tokens,
                document_id=str(document.id),
                fee_invoice=fee.number,
                extra={"other_experts": experts[1:]},
            )
    finally:
        await asyncio.gather(*(w.shutdown() for w in workers))
        await asyncio.gather(*running, return_exceptions=True)


@pytest.fixture(scope="session")
async def live_mission(
    dev_server_env: WorkflowEnvironment,
    engine: Engine,
    session_factory: sessionmaker[Session],
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[LiveMission]:
    """The mission the authorization matrix reads (it writes nothing to it)."""
    async with build_live_mission(dev_server_env, engine, session_factory, tmp_path_factory.mktemp("live")) as live:
        yield live
