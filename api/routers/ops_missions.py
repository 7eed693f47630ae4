"""Ops control of missions: find, inspect (state + readable Temporal history), repair. Every action is audited
(who, what, why, when), whether the workflow accepted it or refused it."""

import uuid
from datetime import datetime
from typing import Annotated

import anyio
from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api import gateway, service
from api.deps import OpsUser, SessionDep, TemporalDep, release_connection
from api.errors import ERROR_RESPONSES
from api.routers.action_routes import add_action_routes
from api.schemas.missions import HistoryEvent, MissionPage, MissionSummary
from domain.actions import ACTIONS, Who
from domain.mission import MissionView, mission_workflow_id
from store import missions as queries
from store.models.readmodel import MissionRecord

router = APIRouter(prefix="/ops", tags=["ops"], responses=ERROR_RESPONSES)


async def _existing(session: Session, mission_id: uuid.UUID) -> MissionRecord:
    """The mission or 404, read in the thread pool; the connection goes back before any wait on Temporal."""

    def read() -> MissionRecord:
        mission = _mission_or_404(session, mission_id)
        release_connection(session)
        return mission

    return await anyio.to_thread.run_sync(read)


def _mission_or_404(session: Session, mission_id: uuid.UUID) -> MissionRecord:
    mission = session.get(MissionRecord, mission_id)
    if mission is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "mission not found")
    return mission


@router.get("/missions", response_model=MissionPage, summary="Find missions (stage, client, expert, deadlines)")
def find_missions(
    user: OpsUser,
    session: SessionDep,
    stage: Annotated[list[str] | None, Query()] = None,
    needs_attention: Annotated[bool, Query(description="only missions waiting for a repair")] = False,
    client_org_id: Annotated[uuid.UUID | None, Query()] = None,
    expert_id: Annotated[uuid.UUID | None, Query()] = None,
    deadline_before: Annotated[datetime | None, Query()] = None,
    deadline_after: Annotated[datetime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> MissionPage:
    stages = ["needs_attention"] if needs_attention else stage
    rows, total = queries.list_missions(
        session,
        user=user,
        stages=stages,
        client_org_id=client_org_id,
        expert_id=expert_id,
        deadline_before=deadline_before,
        deadline_after=deadline_after,
        limit=limit,
        offset=offset,
    )
    return MissionPage(items=[MissionSummary.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)


class Inspection(BaseModel):
    state: MissionView
    history: list[HistoryEvent] = Field(description="the mission workflow's Temporal history, summarised")
    milestones: dict[str, list[HistoryEvent]] = Field(description="each milestone workflow's history")
    temporal_ui: str = Field(description="where to open this workflow in the Temporal Web UI")


@router.get("/missions/{mission_id}", response_model=Inspection, summary="Inspect: state and Temporal history")
async def inspect_mission(mission_id: uuid.UUID, user: OpsUser, session: SessionDep, client: TemporalDep) -> Inspection:
    await _existing(session, mission_id)
    state = await gateway.mission_state(client, mission_id)
    history = await gateway.history_events(client, mission_workflow_id(mission_id))
    children = {
        m.workflow_id: [HistoryEvent(**e) for e in await gateway.history_events(client, m.workflow_id)]
        for m in state.milestones
    }
    namespace = client.namespace
    return Inspection(
        state=state,
        history=[HistoryEvent(**e) for e in history],
        milestones=children,
        temporal_ui=f"/namespaces/{namespace}/workflows/{mission_workflow_id(mission_id)}",
    )


add_action_routes(router, (a for a in ACTIONS if a.who is Who.OPS))


class Termination(BaseModel):
    reason: str = Field(min_length=5, max_length=2000)


@router.post(
    "/missions/{mission_id}/terminate",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Terminate the workflow (last resort: no clean-up runs)",
)
async def terminate_mission(
    mission_id: uuid.UUID, body: Termination, user: OpsUser, session: SessionDep, client: TemporalDep
) -> None:
    await _existing(session, mission_id)
    await service.terminate(session, client, user=user, mission_id=mission_id, reason=body.reason)
