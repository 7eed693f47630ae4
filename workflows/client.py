"""Thin typed helpers for the API and `innot demo`: start a mission, send an update, read the state.

Update names are the workflow methods' names (`MissionWorkflow.<name>` / `MilestoneWorkflow.<name>`); a
validator's refusal comes back as `temporalio.client.WorkflowUpdateFailedError` whose cause carries the reason
(see `rejection_reason`).
"""

from __future__ import annotations

import asyncio
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import RawValue, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from domain.actors import Actor
from domain.dispute import DisputeView, dispute_workflow_id
from domain.mission import (
    Command,
    MilestoneView,
    MissionView,
    StartMission,
    milestone_workflow_id,
    mission_workflow_id,
)
from domain.money import Money
from domain.need import Need
from domain.policy import Policy
from workflows.milestone import FINAL, MilestoneWorkflow
from workflows.mission import MissionWorkflow

V = TypeVar("V", bound=BaseModel)


async def start_mission(
    client: Client,
    *,
    mission_id: UUID,
    client_org_id: UUID,
    need: Need,
    actor: Actor,
    task_queue: str,
    policy: Policy | None = None,
    approval_threshold: Money | None = None,
    documents_task_queue: str | None = None,
    matching_task_queue: str | None = None,
    search_attributes: bool = True,
) -> WorkflowHandle[MissionWorkflow, MissionView]:
    """Start `mission:{id}`. A mission id is never reused: starting it twice fails (WorkflowAlreadyStartedError)."""
    start = StartMission(
        mission_id=mission_id,
        client_org_id=client_org_id,
        need=need,
        actor=actor,
        policy=policy or Policy(),
        approval_threshold=approval_threshold,
        documents_task_queue=documents_task_queue,
        matching_task_queue=matching_task_queue,
        search_attributes=search_attributes,
    )
    return await client.start_workflow(
        MissionWorkflow.run,
        start,
        id=mission_workflow_id(mission_id),
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )


async def open_mission(client: Client, start: StartMission, *, task_queue: str) -> MissionView:
    """Start `mission:{id}` (or join it, for a retried request while it runs) and answer once its need is in the
    read model: one update-with-start (`opened`), so the API's answer is never ahead of the mission's page, however
    late a worker picks the first task up. A mission that ended is not started again (WorkflowAlreadyStartedError)."""
    operation = WithStartWorkflowOperation(
        MissionWorkflow.run,
        start,
        id=mission_workflow_id(start.mission_id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    return await client.execute_update_with_start_workflow(MissionWorkflow.opened, start_workflow_operation=operation)


async def send_update(client: Client, mission_id: UUID, update: str, command: Command) -> MissionView:
    """Run a MissionWorkflow update by name (e.g. "select_proposal") and return the new state."""
    handle = client.get_workflow_handle(mission_workflow_id(mission_id))
    view: MissionView = await handle.execute_update(update, command, result_type=MissionView)
    return view


async def send_update_json(client: Client, mission_id: UUID, update: str, command: Command) -> bytes:
    """`send_update`, answering the new state's JSON as the workflow wrote it (a MissionView), not decoded: for a
    caller that passes it on as it is (an ops action's HTTP answer), which then skips decoding and re-encoding a
    state of some 10 KB (a shortlist, each candidate explained in two languages, and its reserve)."""
    handle = client.get_workflow_handle(mission_workflow_id(mission_id))
    answer: RawValue = await handle.execute_update(update, command, result_type=RawValue)
    return answer.payload.data


async def send_milestone_update(
    client: Client, mission_id: UUID, number: int, update: str, command: Command
) -> MilestoneView:
    """Run a MilestoneWorkflow update by name (e.g. "accept_deliverable") on `mission:{id}:milestone:{n}`."""
    handle = client.get_workflow_handle(milestone_workflow_id(mission_id, number))
    view: MilestoneView = await handle.execute_update(update, command, result_type=MilestoneView)
    return view


async def send_dispute_update(
    client: Client, mission_id: UUID, number: int, update: str, command: Command
) -> DisputeView:
    """Run a DisputeWorkflow update by name (e.g. "answer_dispute") on `mission:{id}:dispute:{n}`."""
    handle = client.get_workflow_handle(dispute_workflow_id(mission_id, number))
    view: DisputeView = await handle.execute_update(update, command, result_type=DisputeView)
    return view


async def dispute_state(client: Client, mission_id: UUID, number: int) -> DisputeView:
    handle = client.get_workflow_handle(dispute_workflow_id(mission_id, number))
    view: DisputeView = await handle.query("state", result_type=DisputeView)
    return view


async def mission_state(client: Client, mission_id: UUID) -> MissionView:
    """The mission's state, with each running milestone's live state from the milestone itself: the mission's
    copy of a milestone follows only its acceptance, its invoice and its end (workflows.milestone)."""
    handle = client.get_workflow_handle(mission_workflow_id(mission_id))
    view = await handle.query(MissionWorkflow.state)
    if any(m.stage not in FINAL for m in view.milestones):
        view.milestones = list(await asyncio.gather(*(_live(client, mission_id, m) for m in view.milestones)))
    return view


async def _live(client: Client, mission_id: UUID, copy: MilestoneView) -> MilestoneView:
    if copy.stage in FINAL:
        return copy
    try:
        return await milestone_state(client, mission_id, copy.number)
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return copy  # the mission lists it as it starts it: not started yet, the copy is its first state
        raise


async def milestone_state(client: Client, mission_id: UUID, number: int) -> MilestoneView:
    handle = client.get_workflow_handle(milestone_workflow_id(mission_id, number))
    return await handle.query(MilestoneWorkflow.state)


def rejection_reason(err: WorkflowUpdateFailedError) -> str:
    """The validator's message, for a 409/422 answer."""
    cause = err.cause
    return getattr(cause, "message", None) or str(cause or err)
