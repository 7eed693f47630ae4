"""/metrics exposes request counters and the business gauges read from the read model."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from store.db import transaction
from store.models.readmodel import MissionRecord

pytestmark = pytest.mark.db


async def test_metrics_count_requests_and_missions(
    api: httpx.AsyncClient, session_factory: sessionmaker[Session]
) -> None:
    mission_id = uuid.uuid4()
    with transaction(session_factory) as session:
        session.add(
            MissionRecord(
                id=mission_id,
                workflow_id=f"mission:{mission_id}",
                client_org_id=uuid.uuid4(),
                title="Audit RH",
                business_function="hr",
                stage="metrics_probe_stage",
            )
        )
    await api.get("/auth/me")
    body = (await api.get("/metrics")).text
    assert 'innot_http_requests_total{method="GET",route="/auth/me",status="401"}' in body
    assert 'innot_missions{stage="metrics_probe_stage"} 1.0' in body
    assert "innot_http_request_seconds_bucket" in body
