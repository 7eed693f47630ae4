"""Liveness of the parts the platform needs: the database and the Temporal server."""

from __future__ import annotations

import asyncio
from typing import Literal

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

router = APIRouter(tags=["health"])


class PartHealth(BaseModel):
    status: Literal["up", "down"]
    detail: str = ""


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: PartHealth
    temporal: PartHealth


def _check_database(request: Request) -> PartHealth:
    try:
        with request.app.state.session_factory() as session:
            session.execute(text("SELECT 1"))
        return PartHealth(status="up")
    except Exception as exc:  # any failure means "down"; the message names it
        return PartHealth(status="down", detail=str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)


async def _check_temporal(request: Request) -> PartHealth:
    client = request.app.state.temporal
    if client is None:
        client = await request.app.state.connect_temporal()
        if client is None:
            return PartHealth(status="down", detail="not connected to the Temporal server")
    try:
        await asyncio.wait_for(client.service_client.check_health(), timeout=3)
        return PartHealth(status="up")
    except Exception as exc:
        return PartHealth(status="down", detail=str(exc)[:200] or type(exc).__name__)


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "a part is down; it is named"}},
)
async def health(request: Request) -> JSONResponse:
    database = await anyio.to_thread.run_sync(_check_database, request)
    temporal = await _check_temporal(request)
    ok = database.status == "up" and temporal.status == "up"
    body = Health(status="ok" if ok else "degraded", database=database, temporal=temporal)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
