"""Qualification of needs by ops is a setting per organisation (on for new organisations), which ops change through
the API; a need posted through the API waits for ops' qualification when it is on, and goes straight to matching
when it is off. MissionWorkflow on the dev server, matching and documents faked (tests.workflows.fakes)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, update

from api.app import create_app
from config.settings import Settings
from store.db import transaction
from store.models.community import Membership
from tests.api.conftest import bearer, client_registration, login, verified
from tests.api.test_memberships import NEED, _ops_headers
from tests.workflows.conftest import Harness
from tests.workflows.test_membership import poll

pytestmark = [pytest.mark.db, pytest.mark.devserver]


@pytest.fixture
async def api(dev: Harness, engine: Engine, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        environment="test", task_queue=dev.task_queue, documents_task_queue=dev.task_queue, keys_dir=tmp_path / "keys",
        document_store=f"file://{tmp_path / 'docs'}",
    )  # fmt: skip
    app = create_app(settings, engine=engine, temporal=dev.env.client)
    app.state.owns_engine = False
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://innot.test") as client:
        yield client


async def _stage(api: httpx.AsyncClient, headers: dict[str, str], mission_id: str) -> Any:
    return (await api.get(f"/missions/{mission_id}", headers=headers)).json()["mission"]["stage"]


async def test_a_new_organisations_needs_wait_for_ops_until_ops_turn_the_setting_off(
    api: httpx.AsyncClient, dev: Harness
) -> None:
    body = client_registration()
    registered = await api.post("/auth/register/client", json=body)
    assert registered.status_code == 201, registered.text
    org_id = registered.json()["member_id"]
    verified(dev.sessions, body["account"]["email"])
    with transaction(dev.sessions) as s:  # vetted and paid (tests/workflows/test_onboarding.py shows how)
        s.execute(update(Membership).where(Membership.member_id == uuid.UUID(org_id)).values(status="active"))
    client = bearer(await login(api, body["account"]["email"]))
    ops = await _ops_headers(api, dev.sessions)
    assert (await api.get(f"/ops/organisations/{org_id}/settings", headers=client)).status_code == 403
    settings = await api.get(f"/ops/organisations/{org_id}/settings", headers=ops)
    assert settings.json() == {"qualification_required": True}

    first = (await api.post("/missions", json=NEED, headers=client)).json()["mission_id"]

    async def qualification_asked() -> bool:
        tasks = (await api.get("/tasks", headers=ops)).json()
        return any(t["action"] == "qualify_need" and t["mission_id"] == first for t in tasks)

    await poll(qualification_asked, bool, 15)
    assert await _stage(api, client, first) == "qualification"

    changed = await api.put(f"/ops/organisations/{org_id}/settings", json={"qualification_required": False},
                            headers=ops)  # fmt: skip
    assert changed.status_code == 200 and changed.json() == {"qualification_required": False}
    second = (await api.post("/missions", json=NEED, headers=client)).json()["mission_id"]

    async def matched() -> bool:
        return await _stage(api, client, second) == "shortlist"

    await poll(matched, bool, 15)
    assert await _stage(api, client, first) == "qualification"  # the first still waits for ops
