"""A milestone whose first workflow task also carries an update: what a retried first task looks like after a
worker was killed between the start's read-model write (a local activity) and the task's completion."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from domain.actors import Actor, Role
from domain.mission import StartMilestone, SubmitDeliverable, milestone_workflow_id
from domain.policy import Policy
from domain.stages import MilestoneStage
from domain.terms import MilestonePlan
from store.models.readmodel import TimelineEvent
from tests.workflows.conftest import START, _harness, eventually
from workflows.milestone import MilestoneWorkflow

pytestmark = pytest.mark.db


async def test_a_deliverable_in_the_first_task_is_recorded_after_the_start(
    dev_server_env: WorkflowEnvironment, task_queue: str, session_factory: sessionmaker[Session]
) -> None:
    """The SDK runs update handlers before the workflow's main function in an activation. A submission handled
    first would take seq 1, which the read model holds already for the start written by the lost attempt: the
    timeline would lose the submission and show the start twice (tests/faults found it under SIGKILL)."""
    client = dev_server_env.client
    mission_id, expert_id = uuid.uuid4(), uuid.uuid4()
    plan = MilestonePlan(title="Phase 1", amount=Decimal("4000.00"), due_date=START + timedelta(days=10))
    start = StartMilestone(
        mission_id=mission_id, number=1, plan=plan, currency="EUR", contract_id=uuid.uuid4(),
        client_org_id=uuid.uuid4(), expert_id=expert_id, mission_title="A mission", language="en", policy=Policy(),
        documents_task_queue=task_queue, search_attributes=False,
    )  # fmt: skip
    workflow_id = milestone_workflow_id(mission_id, 1)
    handle = await client.start_workflow(MilestoneWorkflow.run, start, id=workflow_id, task_queue=task_queue)
    expert = Actor(user_id=uuid.uuid5(expert_id, "user"), role=Role.EXPERT, expert_id=expert_id)
    submit = SubmitDeliverable(actor=expert, document_id=uuid.uuid4(), sha256="a" * 64)
    # no worker yet: the update waits on the server and comes with the milestone's first workflow task
    sent = asyncio.create_task(handle.execute_update(MilestoneWorkflow.submit_deliverable, submit))
    await asyncio.sleep(1)
    assert not sent.done()
    async for _ in _harness(dev_server_env, task_queue, session_factory, search_attributes=False):
        view = await asyncio.wait_for(sent, 30)
        assert view.stage is MilestoneStage.IN_REVIEW

        def first_events() -> list[tuple[int, str]]:
            with session_factory() as s:
                rows = s.execute(
                    select(TimelineEvent.seq, TimelineEvent.kind)
                    .where(TimelineEvent.workflow_id == workflow_id)
                    .order_by(TimelineEvent.seq)
                ).all()
            assert len(rows) >= 2, rows
            return [(seq, kind) for seq, kind in rows[:2]]

        assert await eventually(first_events) == [(1, "milestone_started"), (2, "milestone:in_review")]
        await handle.terminate("test finished")
