"""Memberships through the API on a time-skipping Temporal with the real membership and documents activities:
the member sees its fee invoice, ops confirm the payment (validator refusals as 409), and a member whose fee
lapsed is refused when it posts a need."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.routers import memberships
from api.security import hash_password
from store.accounts import create_user
from store.db import transaction
from tests.api.conftest import bearer, client_registration, login, unique_email, verified, with_second_factor
from tests.workflows.test_membership import Members, members, own_clock, renderer  # noqa: F401  (fixtures)

pytestmark = pytest.mark.db

NEED = {
    "title": "Finance transformation",
    "description": "Redesign the monthly close of a mid-size industrial group.",
    "business_function": "finance",
    "skills": ["budgeting_forecasting", "consolidation"],
    "languages": ["en"],
    "budget_min": "600",
    "budget_max": "1200",
    # a need must start within two years (checked against the wall clock, not the time-skipping server's)
    "start_date": (date.today() + timedelta(days=7)).isoformat(),
    "duration_days": 30,
}


@pytest.fixture
async def member_api(members: Members, engine: Engine) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    app = create_app(members.settings, engine=engine, temporal=members.env.client)
    app.state.owns_engine = False
    if not any(getattr(r, "path", "").startswith("/memberships") for r in app.routes):
        app.include_router(memberships.router)  # until the lead wires the router in api/app.py
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://innot.test") as client:
        yield client


async def _ops_headers(api: httpx.AsyncClient, sessions: sessionmaker[Session]) -> dict[str, str]:
    email, password = unique_email("ops"), "Ops-Passw0rd-long!"
    password_hash = await hash_password(password)
    with transaction(sessions) as s:
        create_user(s, email=email, full_name="Olga Ops", password_hash=password_hash, role="ops")
    return await with_second_factor(api, bearer(await login(api, email, password)))


async def _registered_client(
    api: httpx.AsyncClient, sessions: sessionmaker[Session]
) -> tuple[uuid.UUID, dict[str, str]]:
    body = client_registration()
    registered = await api.post("/auth/register/client", json=body)
    assert registered.status_code == 201, registered.text
    verified(sessions, body["account"]["email"])
    return uuid.UUID(registered.json()["member_id"]), bearer(await login(api, body["account"]["email"]))


async def test_member_sees_its_fee_invoice_and_ops_confirm_the_payment(
    member_api: httpx.AsyncClient,
    members: Members,  # noqa: F811
) -> None:
    org_id, member = await _registered_client(member_api, members.sessions)
    ops = await _ops_headers(member_api, members.sessions)
    handle = await members.start("client_organisation", org_id)
    view = await members.invoiced(handle)
    assert view.invoice is not None

    mine = (await member_api.get("/memberships/me", headers=member)).json()
    assert mine["status"] == "pending" and mine["fee_amount"] == "480.00"
    assert [i["number"] for i in mine["invoices"]] == [view.invoice.number]
    pdf = await member_api.get(f"/memberships/me/invoices/{view.invoice.number}.pdf", headers=member)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    payment: dict[str, Any] = {"invoice_number": view.invoice.number, "paid_on": str(view.invoice.issued_at.date())}
    forbidden = await member_api.post(f"/memberships/{org_id}/payments", json=payment, headers=member)
    assert forbidden.status_code == 403
    wrong = await member_api.post(
        f"/memberships/{org_id}/payments", json=payment | {"invoice_number": "FP-X-2026-000009"}, headers=ops
    )
    assert wrong.status_code == 409 and "not the open fee invoice" in wrong.json()["detail"]
    confirmed = await member_api.post(f"/memberships/{org_id}/payments", json=payment, headers=ops)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "active"
    assert (await member_api.get("/memberships/me", headers=member)).json()["status"] == "active"
    again = await member_api.post(f"/memberships/{org_id}/payments", json=payment, headers=ops)
    assert again.status_code == 409 and "already paid" in again.json()["detail"]


async def test_a_lapsed_member_cannot_open_a_mission(
    member_api: httpx.AsyncClient,
    members: Members,  # noqa: F811
) -> None:
    org_id, member = await _registered_client(member_api, members.sessions)
    handle = await members.start("client_organisation", org_id)
    await members.invoiced(handle)
    await members.env.sleep(timedelta(days=30, hours=1))
    await members.until(handle, lambda v: v.status.value == "lapsed")

    assert (await member_api.get("/memberships/me", headers=member)).json()["status"] == "lapsed"
    refused = await member_api.post("/missions", json=NEED, headers=member)
    assert refused.status_code == 409
    assert "membership is not active" in refused.json()["detail"]
