"""The in-app feed: each person sees the notices sent to them (not a colleague's read state, nothing of another
organisation), in their language, with the unread count; preferences refuse switching a legal notice off."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from activities.notify import fan_out
from activities.projection import NoticeRequest
from activities.readmodel import queue_notice
from api.security import hash_password
from store.accounts import create_user
from store.db import transaction
from store.models.community import User
from store.models.notices import NoticeRecipient
from store.models.readmodel import MissionRecord, Notification
from tests.api.conftest import PASSWORD, bearer, client_registration, login, unique_email, with_second_factor

pytestmark = pytest.mark.db


async def _client(api: httpx.AsyncClient, **org: str) -> tuple[dict[str, str], str]:
    registration = client_registration(**org)
    answer = await api.post("/auth/register/client", json=registration)
    assert answer.status_code == 201, answer.text
    email = registration["account"]["email"]
    return bearer(await login(api, email)), email


def _notify(sessions: sessionmaker[Session], email: str, key: str, kind: str, **params: str) -> uuid.UUID:
    with sessions() as s:
        user = s.scalars(select(User).where(User.email == email)).one()
        assert user.organisation_id is not None
        mission = MissionRecord(
            id=uuid.uuid4(), workflow_id=f"mission:{uuid.uuid4()}", client_org_id=user.organisation_id,
            title="Refonte du contrôle de gestion", business_function="finance", stage="proposals", paused=False,
        )  # fmt: skip
        s.add(mission)
        s.flush()
        notice = NoticeRequest(
            workflow_id=mission.workflow_id, key=key, mission_id=mission.id, role="client",
            party_id=user.organisation_id, kind=kind, params=params,
        )  # fmt: skip
        queue_notice(s, notice)
        s.flush()
        row = s.scalars(select(Notification).where(Notification.workflow_id == mission.workflow_id)).one()
        fan_out(s, row, lambda key: f"<{key}@innot.test>")
        s.commit()
        return mission.id


async def test_the_feed_shows_my_notices_and_counts_the_unread(
    api: httpx.AsyncClient, session_factory: sessionmaker[Session]
) -> None:
    me, my_email = await _client(api)
    other, _ = await _client(api)
    mission_id = _notify(session_factory, my_email, "task:sel", "task", action="select_proposal", due="2026-12-24")

    feed = (await api.get("/notifications", headers=me)).json()
    assert feed["unread"] == 1
    [item] = feed["items"]
    assert item["subject"] == "Proposals for “Refonte du contrôle de gestion” are in"
    assert "24 December 2026" in item["body"]
    assert item["link"] == f"/portal/missions/{mission_id}" and item["kind"] == "select_proposal"
    assert (await api.get("/notifications", headers=other)).json() == {"unread": 0, "items": []}

    assert (await api.post(f"/notifications/{item['id']}/read", headers=other)).status_code == 404
    assert (await api.post(f"/notifications/{item['id']}/read", headers=me)).status_code == 204
    assert (await api.get("/notifications?unread=true", headers=me)).json() == {"unread": 0, "items": []}


async def test_preferences_can_mute_a_kind_but_not_a_legal_notice(api: httpx.AsyncClient) -> None:
    me, _ = await _client(api)
    choices = {p["kind"]: p["mode"] for p in (await api.get("/notifications/preferences", headers=me)).json()}
    assert choices["reminder"] == "immediate" and "invoice_issued" not in choices
    answer = await api.put("/notifications/preferences", headers=me, json=[{"kind": "reminder", "mode": "digest"}])
    assert answer.status_code == 200
    assert {p["kind"]: p["mode"] for p in answer.json()}["reminder"] == "digest"
    refused = await api.put("/notifications/preferences", headers=me, json=[{"kind": "invoice_issued", "mode": "off"}])
    assert refused.status_code == 422
    assert "body[0].kind" in refused.text and "legal notice" in refused.text


async def test_the_feed_speaks_the_readers_language(
    api: httpx.AsyncClient, session_factory: sessionmaker[Session]
) -> None:
    me, my_email = await _client(api)
    with transaction(session_factory) as s:
        s.scalars(select(User).where(User.email == my_email)).one().language = "fr"
    _notify(session_factory, my_email, "task:sel", "task", action="select_proposal", due="2026-12-24")
    [item] = (await api.get("/notifications", headers=me)).json()["items"]
    assert item["subject"] == "Les propositions pour « Refonte du contrôle de gestion » sont arrivées"
    assert "24 décembre 2026" in item["body"]


async def test_ops_see_the_emails_that_did_not_go_out(
    api: httpx.AsyncClient, session_factory: sessionmaker[Session]
) -> None:
    me, my_email = await _client(api)
    _notify(session_factory, my_email, "late:1", "late_payment_notice", invoice="FA-2026-0042")
    with transaction(session_factory) as s:
        user = s.scalars(select(User).where(User.email == my_email)).one()
        [row] = s.scalars(select(NoticeRecipient).where(NoticeRecipient.user_id == user.id))
        row.email_status, row.email_attempts, row.email_error = "failed", 1, "550 5.1.1 no such mailbox"
        ops_email = unique_email("ops")
        create_user(s, email=ops_email, full_name="Olga Ops", password_hash=await hash_password(PASSWORD), role="ops")
    assert (await api.get("/ops/mail", headers=me)).status_code == 403
    ops = await with_second_factor(api, bearer(await login(api, ops_email)))
    report = (await api.get("/ops/mail", headers=ops)).json()
    [bounced] = [u for u in report["undelivered"] if u["to"] == my_email]
    assert bounced["status"] == "failed" and bounced["kind"] == "late_payment_notice"
    assert bounced["error"] == "550 5.1.1 no such mailbox" and report["counts"]["failed"] >= 1
