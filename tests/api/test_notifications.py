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
from store.models.community import User
from store.models.readmodel import MissionRecord, Notification
from tests.api.conftest import bearer, client_registration, login

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
