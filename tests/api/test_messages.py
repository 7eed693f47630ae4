"""Private messaging: participants only, encrypted at rest, ops only during a dispute and audited."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from api.security import hash_password
from store.accounts import create_user
from store.db import transaction
from store.models.community import AuditEntry
from store.models.readmodel import MissionExpert, MissionRecord
from tests.api.conftest import (
    PASSWORD,
    bearer,
    client_registration,
    expert_registration,
    login,
    unique_email,
    with_second_factor,
)

pytestmark = pytest.mark.db

CANARY = f"canary-{uuid.uuid4().hex} the budget is 48 000 EUR"


async def _account(api: httpx.AsyncClient, kind: str) -> tuple[dict[str, str], dict[str, Any]]:
    email = unique_email(kind)
    payload = client_registration(email) if kind == "client" else expert_registration(email)
    registered = (await api.post(f"/auth/register/{kind}", json=payload)).json()
    return bearer(await login(api, email)), registered


def _mission(factory: sessionmaker[Session], org_id: str, experts: dict[str, str]) -> uuid.UUID:
    mission_id = uuid.uuid4()
    with transaction(factory) as session:
        session.add(
            MissionRecord(
                id=mission_id,
                workflow_id=f"mission:{mission_id}",
                client_org_id=uuid.UUID(org_id),
                title="Finance transformation",
                business_function="finance",
                stage="proposals",
            )
        )
        for expert_id, status in experts.items():
            session.add(MissionExpert(mission_id=mission_id, expert_id=uuid.UUID(expert_id), status=status))
    return mission_id


async def test_threads_are_private_and_encrypted(
    api: httpx.AsyncClient, session_factory: sessionmaker[Session]
) -> None:
    client, client_reg = await _account(api, "client")
    other_client, _ = await _account(api, "client")
    expert, expert_reg = await _account(api, "expert")
    rival, rival_reg = await _account(api, "expert")
    declined, declined_reg = await _account(api, "expert")
    expert_id, rival_id = expert_reg["member_id"], rival_reg["member_id"]
    mission = _mission(
        session_factory,
        client_reg["member_id"],
        {expert_id: "accepted", rival_id: "accepted", declined_reg["member_id"]: "declined"},
    )
    thread = f"/missions/{mission}/threads/{expert_id}/messages"

    sent = await api.post(thread, json={"body": CANARY}, headers=client)
    assert sent.status_code == 201, sent.text
    reply = await api.post(thread, json={"body": "Monday works for me."}, headers=expert)
    assert reply.status_code == 201

    read = await api.get(thread, headers=expert)
    assert [m["body"] for m in read.json()] == [CANARY, "Monday works for me."]
    assert read.json()[0]["author_name"] == "Claire Martin"
    # the rival expert on the same mission, a declined expert, and another organisation see nothing
    for intruder in (rival, declined, other_client):
        assert (await api.get(thread, headers=intruder)).status_code == 404
        assert (await api.post(thread, json={"body": "hi"}, headers=intruder)).status_code == 404
    threads = (await api.get(f"/missions/{mission}/threads", headers=rival)).json()
    assert threads == []
    assert (await api.get(f"/missions/{mission}/threads", headers=other_client)).status_code == 404

    with session_factory() as session:
        dump = " ".join(str(v) for row in session.execute(text("SELECT * FROM messages")) for v in row)
    assert "canary-" not in dump and "Monday" not in dump


async def test_ops_read_only_during_dispute_and_audited(
    api: httpx.AsyncClient, session_factory: sessionmaker[Session]
) -> None:
    client, client_reg = await _account(api, "client")
    _, expert_reg = await _account(api, "expert")
    expert_id = expert_reg["member_id"]
    mission = _mission(session_factory, client_reg["member_id"], {expert_id: "selected"})
    await api.post(f"/missions/{mission}/threads/{expert_id}/messages", json={"body": CANARY}, headers=client)
    ops_email = unique_email("ops")
    with transaction(session_factory) as session:
        create_user(
            session, email=ops_email, full_name="Olivia", password_hash=await hash_password(PASSWORD), role="ops"
        )
    ops = await with_second_factor(api, bearer(await login(api, ops_email)))
    url = f"/ops/missions/{mission}/threads/{expert_id}/messages"

    refused = await api.get(url, params={"reason": "curiosity"}, headers=ops)
    assert refused.status_code == 409 and "dispute" in refused.json()["detail"]
    assert (await api.get(url, headers=ops)).status_code == 422  # a reason is required
    assert (await api.get(f"/missions/{mission}/threads/{expert_id}/messages", headers=ops)).status_code == 404

    with transaction(session_factory) as session:
        record = session.get(MissionRecord, mission)
        assert record is not None
        record.stage = "disputed"
    allowed = await api.get(url, params={"reason": "dispute #12: delivery contested"}, headers=ops)
    assert allowed.status_code == 200 and allowed.json()[0]["body"] == CANARY
    with session_factory() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.target == f"mission:{mission}"))
    assert entry is not None and entry.action == "read_messages" and "delivery contested" in entry.reason
    assert entry.at <= datetime.now(UTC)
