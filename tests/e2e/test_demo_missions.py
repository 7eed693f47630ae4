"""The first run shows the product: on a fresh database, `innot dev`'s seeding gives the demo client missions in at
least five stages (through the workflows, on the real dev server), a second run adds none, and every demo party
has its own valid legal identity, so an invoice's seller and buyer differ."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from stdnum import iban, luhn
from stdnum.eu import vat
from stdnum.fr import siren, siret
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from cli.bootstrap import create_demo_accounts
from cli.demo_seed import seed_demo_missions
from config.settings import Settings
from config.temporal import connect
from store.db import make_engine, make_session_factory
from store.migrate import upgrade
from store.models.community import Expert, Organisation
from worker import build_workers

pytestmark = [pytest.mark.devserver, pytest.mark.slow]


@pytest.fixture
async def first_run(
    tmp_path: Path, dev_server_env: WorkflowEnvironment
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    """A fresh database with the demo accounts of a first `make run`, workers and the API in process."""
    settings = Settings(
        environment="test",
        database_url=f"sqlite:///{tmp_path / 'first-run.db'}",
        temporal_address=dev_server_env.client.service_client.config.target_host,
        document_store=f"file://{tmp_path / 'documents'}",
        keys_dir=tmp_path / "keys",
        task_queue=f"seed-{tmp_path.name}",
        documents_task_queue=f"seed-docs-{tmp_path.name}",
    )
    upgrade(settings.database_url)
    accounts = await asyncio.to_thread(create_demo_accounts, settings)  # it runs its own event loop
    client = await connect(settings)
    engine = make_engine(settings.database_url)
    workers = build_workers(client, settings)
    running = [asyncio.create_task(w.run()) for w in workers]
    try:
        app = create_app(settings, engine=engine, temporal=client)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://innot.test", timeout=120) as api:
            email, password = accounts["client"]
            tokens = (await api.post("/auth/login", json={"email": email, "password": password})).json()
            api.headers["Authorization"] = f"Bearer {tokens['access_token']}"  # the demo client, as they log in
            yield api, settings
    finally:
        await asyncio.gather(*(w.shutdown() for w in workers))
        await asyncio.gather(*running, return_exceptions=True)
        engine.dispose()


async def _dashboard(api: httpx.AsyncClient) -> list[dict[str, object]]:
    answer = await api.get("/missions?limit=200")
    assert answer.status_code == 200, answer.text
    items: list[dict[str, object]] = answer.json()["items"]
    return items


async def test_the_demo_client_sees_missions_in_five_stages_seeded_once(
    first_run: tuple[httpx.AsyncClient, Settings], tmp_path: Path
) -> None:
    api, settings = first_run
    assert await _dashboard(api) == []

    reached = await seed_demo_missions(api, settings)
    missions = await _dashboard(api)
    stages = {str(m["stage"]) for m in missions}
    assert len(stages) >= 5, stages
    assert {"shortlist", "invitations", "proposals", "contract", "delivery", "closed"} <= stages
    assert sorted(reached.values()) == sorted(str(m["stage"]) for m in missions)

    again = await seed_demo_missions(api, settings)  # a second `make run`
    assert again == reached
    assert sorted((m["id"], m["stage"]) for m in await _dashboard(api)) == sorted(
        (m["id"], m["stage"]) for m in missions
    )

    # who acts next on the mission in delivery: the client pays the first invoice, which names two parties
    delivered = next(m for m in missions if m["stage"] == "delivery")
    documents = (await api.get(f"/missions/{delivered['id']}/documents")).json()
    invoice = next(d for d in documents if d["kind"] == "mission_invoice")
    pdf = (await api.get(f"/missions/{delivered['id']}/documents/{invoice['id']}")).content
    (tmp_path / "invoice.pdf").write_bytes(pdf)
    pdftotext = ["pdftotext", "-layout", str(tmp_path / "invoice.pdf"), "-"]
    text = (await asyncio.to_thread(subprocess.run, pdftotext, capture_output=True, text=True, check=True)).stdout

    factory = make_session_factory(make_engine(settings.database_url))
    with factory() as session:
        orgs = session.scalars(select(Organisation)).all()
        experts = session.scalars(select(Expert)).all()
    parties: list[Organisation | Expert] = [*orgs, *experts]
    sirens = [p.siren for p in parties if p.siren] + [settings.platform.siren]
    vats = [p.vat_number for p in parties if p.vat_number] + [settings.platform.vat_number]
    assert len(orgs) == 1 and len(experts) == 3 and len(vats) == 5
    assert len(set(sirens)) == len(sirens) and len(set(vats)) == len(vats), "two parties share an identifier"
    for party in parties:
        assert party.vat_number is not None and vat.is_valid(party.vat_number)
        assert party.vat_number.startswith(party.country)
        if party.country == "FR":
            assert party.siret is not None and siret.is_valid(party.siret) and siren.is_valid(party.siren or "")
            assert luhn.is_valid(party.siret) and party.siret.startswith(party.siren or "-")
    assert all(iban.is_valid(e.iban or "") for e in experts) and len({e.iban for e in experts}) == 3
    seller = next(e for e in experts if e.vat_number and e.vat_number in text)
    assert orgs[0].vat_number is not None and orgs[0].vat_number in text
    assert seller.vat_number != orgs[0].vat_number, "the seller and the buyer of an invoice are two parties"
