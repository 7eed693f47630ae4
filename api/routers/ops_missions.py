"""Ops control of missions: find, inspect (state + readable Temporal history), repair. Every action is audited
(who, what, why, when), whether the workflow accepted it or refused it."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

import anyio
from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from temporalio.service import RPCError

from api import gateway, ops_service
from api.deps import OpsUser, SessionDep, TemporalDep, actor_of, release_connection
from api.errors import ERROR_RESPONSES
from api.schemas.missions import HistoryEvent, MissionPage, MissionSummary, body_of, to_command
from domain import mission as cmds
from domain.mission import MilestoneView, MissionView, mission_workflow_id
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


def _ops_action(path: str, update: str, command: type[cmds.Command], summary: str) -> None:
    body_model = body_of(command)

    async def action(
        mission_id: uuid.UUID,
        body: body_model,  # type: ignore[valid-type]
        user: OpsUser,
        session: SessionDep,
        client: TemporalDep,
    ) -> Response:
        # no read-model lookup first: ops may act on any mission, and an unknown one is Temporal's NOT_FOUND -> 404
        command_ = to_command(command, body, actor_of(user))
        reason = str(getattr(command_, "reason", "")) or summary
        # the workflow's JSON of the new state, passed on as it is (ops see the whole state)
        answer = await ops_service.mission_action_json(
            session, client, user=user, mission_id=mission_id, update=update, command=command_, reason=reason
        )
        return Response(answer, media_type="application/json")

    action.__name__ = f"ops_{update}"
    router.add_api_route(
        f"/missions/{{mission_id}}/{path}",
        action,
        methods=["POST"],
        response_model=MissionView,
        summary=summary,
        name=f"ops:{update}",
    )


_OPS_ACTIONS: list[tuple[str, str, type[cmds.Command], str]] = [
    ("qualify", "qualify_need", cmds.QualifyNeed, "Qualify the need: approve, reject, ask for details"),
    ("pause", "pause", cmds.PauseMission, "Pause the mission (timers stop counting)"),
    ("resume", "resume", cmds.ResumeMission, "Resume: after a pause, or retry after needs_attention"),
    ("extend", "extend_deadline", cmds.ExtendDeadline, "Extend a deadline"),
    ("reassign", "reassign_expert", cmds.ReassignExpert, "Reassign the expert"),
    ("resolve-dispute", "resolve_dispute", cmds.ResolveDispute, "Resolve a dispute"),
    ("cancel", "cancel", cmds.CancelMission, "Cancel the mission"),
]
for _path, _update, _command, _summary in _OPS_ACTIONS:
    _ops_action(_path, _update, _command, _summary)


@router.post(
    "/missions/{mission_id}/milestones/{number}/resume",
    response_model=MilestoneView,
    summary="Retry a milestone step that failed for good (needs_attention)",
)
async def resume_milestone(
    mission_id: uuid.UUID,
    number: Annotated[int, Path(ge=1, le=50)],
    body: body_of(cmds.ResumeMission),  # type: ignore[valid-type]
    user: OpsUser,
    session: SessionDep,
    client: TemporalDep,
) -> MilestoneView:
    await _existing(session, mission_id)
    command = cmds.ResumeMission.model_validate(to_command(cmds.ResumeMission, body, actor_of(user)))
    return await ops_service.milestone_action(
        session,
        client,
        user=user,
        mission_id=mission_id,
        number=number,
        update="resume",
        command=command,
        reason=command.reason or "retry the milestone step",
    )


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
    mission = await _existing(session, mission_id)
    try:
        await client.get_workflow_handle(mission_workflow_id(mission_id)).terminate(reason=f"ops: {body.reason}")
    except RPCError as exc:
        raise gateway.http_error(exc, "mission") from exc
    mission.stage = "terminated"
    mission.closed_reason = f"terminated by ops: {body.reason}"
    mission.updated_at = datetime.now(UTC)
    target = f"mission:{mission_id}"
    await ops_service.audited(session, user=user, action="terminate", target=target, reason=body.reason, details={})
