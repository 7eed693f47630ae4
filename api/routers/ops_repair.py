"""Ops repair routes: the needs-attention queue (missions and milestones), retry all, and batch actions on the
workflows a search-attribute query finds (a dry-run count first). See `api.repair`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api import repair
from api.deps import OpsUser, SessionDep, TemporalDep
from api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/ops", tags=["ops"], responses=ERROR_RESPONSES)

QueryText = Annotated[
    str,
    Query(
        min_length=1,
        max_length=1000,
        description='a Temporal visibility query over the search attributes, e.g. MissionStage = "shortlist"',
    ),
]


@router.get("/attention", response_model=list[repair.Parked], summary="Missions and milestones waiting for a repair")
def attention_queue(_user: OpsUser, session: SessionDep) -> list[repair.Parked]:
    return repair.parked(session)


class Retry(BaseModel):
    reason: str = Field(min_length=3, max_length=2000)


@router.post("/retry-all", response_model=repair.BatchResult, summary="Resume every parked mission and milestone")
async def retry_all(body: Retry, user: OpsUser, session: SessionDep, client: TemporalDep) -> repair.BatchResult:
    return await repair.retry_all(session, client, user=user, reason=body.reason)


class Count(BaseModel):
    query: str
    count: int


@router.get("/batch/count", response_model=Count, summary="Dry run: how many workflows a query matches")
async def batch_count(query: QueryText, _user: OpsUser, client: TemporalDep) -> Count:
    q = repair.Query.of(query)
    return Count(query=q.text, count=await repair.count(client, q))


class Batch(BaseModel):
    action: repair.BatchAction
    query: str = Field(min_length=1, max_length=1000)
    expected_count: int = Field(ge=0, description="the count the dry run showed; another count now is a 409")
    reason: str = Field(min_length=3, max_length=2000)


@router.post("/batch", response_model=repair.BatchResult, summary="Resume or pause every workflow a query matches")
async def batch(body: Batch, user: OpsUser, session: SessionDep, client: TemporalDep) -> repair.BatchResult:
    return await repair.run_batch(
        session,
        client,
        user=user,
        action=body.action,
        query=repair.Query.of(body.query),
        expected=body.expected_count,
        reason=body.reason,
    )
