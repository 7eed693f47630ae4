"""The API's door to the mission workflows: start, update, query — with Temporal's errors turned into HTTP
answers (a validator's refusal is 409 with its reason; an unknown workflow 404; Temporal down 503)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import structlog
from fastapi import HTTPException, status
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from config.settings import Settings
from domain.mission import Command, MilestoneView, MissionView, StartMission
from workflows import client as workflow_client

log = structlog.get_logger(__name__)


# what an Update can raise that `http_error` answers (anything else is a bug, and a 500)
UPDATE_ERRORS = (WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, RPCError)
NOT_IN_TIME = "the workflow engine did not answer in time; retry shortly (an action already taken is refused)"


def http_error(exc: Exception, what: str) -> HTTPException:
    if isinstance(exc, WorkflowUpdateFailedError):
        return HTTPException(status.HTTP_409_CONFLICT, workflow_client.rejection_reason(exc))
    if isinstance(exc, WorkflowUpdateRPCTimeoutOrCancelledError):
        # the update was sent but its outcome not heard of in time (workers restarting, each held task timing out
        # first): it may still be applied, and a retry of an applied action is refused
        return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, NOT_IN_TIME)
    if isinstance(exc, RPCError):
        if exc.status == RPCStatusCode.NOT_FOUND:
            return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")
        if exc.status is RPCStatusCode.FAILED_PRECONDITION and "workflow task in failed state" in exc.message.lower():
            # its last workflow task timed out or failed (a worker died holding it): the next one retries it
            return HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"the {what}'s workflow is recovering (a worker restarted); retry in a few seconds",
            )
        if exc.status in (RPCStatusCode.FAILED_PRECONDITION, RPCStatusCode.ALREADY_EXISTS):
            return HTTPException(status.HTTP_409_CONFLICT, f"{what} no longer accepts actions: {exc.message}")
        if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            return HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, "the workflow engine is unavailable; nothing was changed"
            )
        if exc.status is RPCStatusCode.UNKNOWN and "transport" in exc.message.lower():
            # the connection broke mid-call (the server restarting): the action may or may not have been taken
            return HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "the connection to the workflow engine broke; retry shortly (an action already taken is refused)",
            )
        if exc.status is RPCStatusCode.CANCELLED:  # the client's deadline passed ("Timeout expired"): no worker
            return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, NOT_IN_TIME)
    raise exc


async def start_mission(client: Client, settings: Settings, start: StartMission) -> MissionView:
    """Start (or find, for a retried request) the mission workflow; its id is the business key."""
    try:
        await workflow_client.start_mission(
            client,
            mission_id=start.mission_id,
            client_org_id=start.client_org_id,
            need=start.need,
            actor=start.actor,
            task_queue=settings.task_queue,
            policy=start.policy,
            approval_threshold=start.approval_threshold,
            documents_task_queue=start.documents_task_queue,
            matching_task_queue=start.matching_task_queue,
        )
    except WorkflowAlreadyStartedError:
        log.info("mission already started: a retried request", mission_id=str(start.mission_id))
    except RPCError as exc:
        raise http_error(exc, "mission") from exc
    return await mission_state(client, start.mission_id)


async def mission_state(client: Client, mission_id: UUID) -> MissionView:
    try:
        return await workflow_client.mission_state(client, mission_id)
    except RPCError as exc:
        raise http_error(exc, "mission") from exc


async def mission_update(client: Client, mission_id: UUID, update: str, command: Command) -> MissionView:
    try:
        return await workflow_client.send_update(client, mission_id, update, command)
    except UPDATE_ERRORS as exc:
        raise http_error(exc, "mission") from exc


async def mission_update_json(client: Client, mission_id: UUID, update: str, command: Command) -> bytes:
    try:
        return await workflow_client.send_update_json(client, mission_id, update, command)
    except UPDATE_ERRORS as exc:
        raise http_error(exc, "mission") from exc


async def milestone_update(
    client: Client, mission_id: UUID, number: int, update: str, command: Command
) -> MilestoneView:
    try:
        return await workflow_client.send_milestone_update(client, mission_id, number, update, command)
    except UPDATE_ERRORS as exc:
        raise http_error(exc, "milestone") from exc


async def history_events(client: Client, workflow_id: str) -> list[dict[str, Any]]:
    """The Temporal history of a workflow, summarised as a readable timeline (event type, time, names only)."""
    handle = client.get_workflow_handle(workflow_id)
    events: list[dict[str, Any]] = []
    try:
        async for event in handle.fetch_history_events():
            kind = event.WhichOneof("attributes") or ""
            name = ""
            attrs: Any = getattr(event, kind) if kind else None
            for field in ("activity_type", "workflow_type", "signal_name"):
                value: Any = getattr(attrs, field, None) if attrs is not None else None
                if isinstance(value, str):
                    name = value or name
                elif value is not None and value.name:
                    name = str(value.name)
            if kind == "workflow_execution_update_accepted_event_attributes" and attrs is not None:
                name = attrs.accepted_request.input.name
            if kind == "timer_started_event_attributes" and attrs is not None:
                name = f"timer {attrs.start_to_fire_timeout.ToTimedelta()}"
            failure = getattr(attrs, "failure", None) if attrs is not None else None
            events.append(
                {
                    "id": event.event_id,
                    "at": event.event_time.ToDatetime().isoformat() + "Z",
                    "type": EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower(),
                    "name": name,
                    "failure": failure.message if failure is not None and failure.message else "",
                }
            )
    except RPCError as exc:
        raise http_error(exc, "workflow") from exc
    return events
