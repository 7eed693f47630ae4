"""/metrics exposes request counters and the business gauges read from the read model."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from config.settings import Settings
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


async def test_metrics_want_the_token_when_one_is_configured(api_settings: Settings, engine: Engine) -> None:
    app = create_app(api_settings.model_copy(update={"metrics_token": "scrape-secret-1"}), engine=engine)
    app.state.owns_engine = False
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        refused = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-2"})
        served = await client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-1"})
    assert refused.status_code == 401 and "bearer token" in refused.text
    assert wrong.status_code == 401
    assert served.status_code == 200 and "innot_http_request_seconds_bucket" in served.text
