"""GET /health names the part that is down."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from config.settings import Settings
from store.db import make_engine

pytestmark = pytest.mark.db


async def _get(app: FastAPI) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://innot.test") as client:
        return await client.get("/health")


async def test_all_up(api_settings: Settings, engine: Engine, dev_server_env: WorkflowEnvironment) -> None:
    app = create_app(api_settings, engine=engine, temporal=dev_server_env.client)
    response = await _get(app)
    assert response.status_code == 200, response.text
    assert response.json()["database"]["status"] == "up"
    assert response.json()["temporal"]["status"] == "up"


async def test_temporal_down_is_503_naming_temporal(api_settings: Settings, engine: Engine) -> None:
    response = await _get(create_app(api_settings, engine=engine))
    assert response.status_code == 503
    body = response.json()
    assert body["temporal"]["status"] == "down" and body["database"]["status"] == "up"


async def test_database_down_is_503_naming_database(
    api_settings: Settings, dev_server_env: WorkflowEnvironment
) -> None:
    dead = make_engine("postgresql://nobody@127.0.0.1:1/none", pool_pre_ping=False)
    response = await _get(create_app(api_settings, engine=dead, temporal=dev_server_env.client))
    assert response.status_code == 503
    body = response.json()
    assert body["database"]["status"] == "down" and body["temporal"]["status"] == "up"
    assert body["database"]["detail"]
