"""A worker per test (own task queue) running the mission workflows, the real read-model activity
on the test database, and name-matched fakes of matching and documents."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.notify import NotifyActivities
from activities.readmodel import ReadModelActivities
from config.temporal import workflow_runner
from domain.actors import Actor, Role
from domain.dispute import DisputeView, dispute_workflow_id
from domain.mission import MilestoneView, MissionView, milestone_workflow_id
from domain.money import Money
from domain.need import Need
from domain.policy import Policy
from domain.terms import MilestonePlan, ProposalTerms
from store.accounts import create_user
from store.db import transaction
from store.models.readmodel import Notification, Task, TimelineEvent
from tests.conftest import _binary
from tests.workflows.fakes import Fakes
from workflows import ALL_WORKFLOWS
from workflows.client import start_mission

if TYPE_CHECKING:
    from tests.workflows.money import Money

START = date(2030, 1, 6)


def make_need(**overrides: Any) -> Need:
    data: dict[str, Any] = {
        "title": "Finance transformation",
        "description": "Redesign the monthly close of a mid-size industrial group.",
        "business_function": "finance",
        "skills": ["fpa", "closing"],
        "languages": ["en"],
        "budget_min": Decimal("600"),
        "budget_max": Decimal("1200"),
        "start_date": START,
        "duration_days": 30,
    }
    data.update(overrides)
    return Need(**data)


def terms(*amounts: str, daily: bool = False) -> ProposalTerms:
    milestones = [
        MilestonePlan(title=f"Phase {i + 1}", amount=Decimal(a), due_date=START + timedelta(days=10 * (i + 1)))
        for i, a in enumerate(amounts or ("4000.00",))
    ]
    total = sum((m.amount for m in milestones), Decimal("0"))
    if daily:
        return ProposalTerms(
            approach="A clear and tested approach.",
            pricing="daily",
            daily_rate=total / 5,
            days=Decimal("5"),
            milestones=milestones,
        )
    return ProposalTerms(approach="A clear and tested approach.", pricing="fixed", milestones=milestones)


@dataclass
class Harness:
    env: WorkflowEnvironment
    task_queue: str
    fakes: Fakes
    sessions: sessionmaker[Session]
    search_attributes: bool
    org_id: uuid.UUID = field(default_factory=uuid.uuid4)
    mission_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def __post_init__(self) -> None:
        self.client_actor = Actor(user_id=uuid.uuid4(), role=Role.CLIENT, org_id=self.org_id)
        with transaction(self.sessions) as s:  # the audit entry of an ops action names a real account
            ops = create_user(s, email=f"ops.{self.mission_id.hex}@innot.example", full_name="Ops", password_hash="x",
                              role="ops")  # fmt: skip
            self.ops = Actor(user_id=ops.id, role=Role.OPS)
        self.outsider = Actor(user_id=uuid.uuid4(), role=Role.CLIENT, org_id=uuid.uuid4())

    def expert(self, expert_id: uuid.UUID) -> Actor:
        return Actor(user_id=uuid.uuid5(expert_id, "user"), role=Role.EXPERT, expert_id=expert_id)

    async def start(
        self, policy: Policy | None = None, threshold: Money | None = None, **need: Any
    ) -> WorkflowHandle[Any, MissionView]:
        return await start_mission(
            self.env.client,
            mission_id=self.mission_id,
            client_org_id=self.org_id,
            need=make_need(**need),
            actor=self.client_actor,
            task_queue=self.task_queue,
            policy=policy,
            approval_threshold=threshold,
            documents_task_queue=self.task_queue,
            search_attributes=self.search_attributes,
        )

    @property
    def handle(self) -> WorkflowHandle[Any, MissionView]:
        return self.env.client.get_workflow_handle(f"mission:{self.mission_id}", result_type=MissionView)

    def milestone(self, n: int) -> WorkflowHandle[Any, MilestoneView]:
        return self.env.client.get_workflow_handle(milestone_workflow_id(self.mission_id, n), result_type=MilestoneView)

    async def settle(self) -> None:
        """Wait until the mission and its milestones run no activity: skipping time over a running activity
        would time it out (in skipped time) and push its retries far away."""
        ids = [f"mission:{self.mission_id}"] + [milestone_workflow_id(self.mission_id, n) for n in range(1, 4)]
        for _ in range(200):
            busy = False
            for workflow_id in ids:
                try:
                    described = await self.env.client.get_workflow_handle(workflow_id).describe()
                except RPCError:
                    continue
                busy = busy or bool(described.raw_description.pending_activities)
            if not busy:
                return
            await asyncio.sleep(0.05)

    async def skip(self, duration: timedelta) -> None:
        """Let the workflows finish what they are doing, then skip time."""
        await self.settle()
        await self.env.sleep(duration)
        await self.settle()

    async def terminate_leftovers(self) -> None:
        """A workflow left running would block time skipping for the next tests (no worker for its queue)."""
        ids = [milestone_workflow_id(self.mission_id, n) for n in range(1, 6)] + [f"mission:{self.mission_id}"]
        ids += [dispute_workflow_id(self.mission_id, n) for n in range(1, 4)]
        for workflow_id in ids:
            with contextlib.suppress(RPCError):
                await self.env.client.get_workflow_handle(workflow_id).terminate("test finished")

    async def state(self) -> MissionView:
        view: MissionView = await self.handle.query("state", result_type=MissionView)
        return view

    async def milestone_state(self, n: int) -> MilestoneView:
        view: MilestoneView = await self.milestone(n).query("state", result_type=MilestoneView)
        return view

    async def until(self, check: Callable[[MissionView], bool], within: float = 15) -> MissionView:
        view: MissionView = await _poll(self.state, check, within)
        return view

    async def until_milestone(
        self, n: int, check: Callable[[MilestoneView], bool], within: float = 15
    ) -> MilestoneView:
        async def get() -> MilestoneView:
            try:
                return await self.milestone_state(n)
            except Exception:
                return None  # type: ignore[return-value]

        view: MilestoneView = await _poll(get, lambda v: v is not None and check(v), within)
        return view

    async def update(self, name: str, cmd: BaseModel) -> MissionView:
        view: MissionView = await self.handle.execute_update(name, cmd, result_type=MissionView)
        return view

    async def update_milestone(self, n: int, name: str, cmd: BaseModel) -> MilestoneView:
        view: MilestoneView = await self.milestone(n).execute_update(name, cmd, result_type=MilestoneView)
        return view

    async def update_dispute(self, n: int, name: str, cmd: BaseModel) -> DisputeView:
        handle = self.env.client.get_workflow_handle(dispute_workflow_id(self.mission_id, n))
        view: DisputeView = await handle.execute_update(name, cmd, result_type=DisputeView)
        return view

    async def until_dispute(self, n: int, check: Callable[[DisputeView], bool], within: float = 15) -> DisputeView:
        handle = self.env.client.get_workflow_handle(dispute_workflow_id(self.mission_id, n))

        async def get() -> DisputeView | None:
            try:
                view: DisputeView = await handle.query("state", result_type=DisputeView)
                return view
            except Exception:
                return None

        view: DisputeView = await _poll(get, lambda v: v is not None and check(v), within)
        return view

    def open_tasks(self, role: str | None = None) -> list[Task]:
        with self.sessions() as s:
            q = select(Task).where(Task.mission_id == self.mission_id, Task.closed_at.is_(None))
            if role:
                q = q.where(Task.role == role)
            return list(s.scalars(q.order_by(Task.opened_at, Task.key)))

    def timeline(self) -> list[TimelineEvent]:
        with self.sessions() as s:
            q = select(TimelineEvent).where(TimelineEvent.mission_id == self.mission_id)
            return list(s.scalars(q.order_by(TimelineEvent.at, TimelineEvent.workflow_id, TimelineEvent.seq)))

    def notifications(self, kind: str | None = None) -> list[Notification]:
        with self.sessions() as s:
            q = select(Notification).where(Notification.mission_id == self.mission_id)
            if kind:
                q = q.where(Notification.kind == kind)
            return list(s.scalars(q.order_by(Notification.created_at)))


async def eventually(check: Callable[[], Any], within: float = 10) -> Any:
    """Poll a read-model check: projections land a moment after the workflow state changes."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            value = check()
            if value:
                return value
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"read model check still false after {within}s: {value!r}")
        await asyncio.sleep(0.05)


async def _poll(get: Callable[[], Awaitable[Any]], check: Callable[[Any], bool], within: float) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await get()
        if check(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not reached in {within}s; last state: {value!r:.2000}")
        await asyncio.sleep(0.05)


async def _harness(
    env: WorkflowEnvironment, task_queue: str, sessions: sessionmaker[Session], search_attributes: bool
) -> AsyncIterator[Harness]:
    fakes = Fakes()
    readmodel = ReadModelActivities(sessions)
    with ThreadPoolExecutor(max_workers=4) as pool:
        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=ALL_WORKFLOWS,
            workflow_runner=workflow_runner(sandboxed=True),  # the determinism guard
            activities=[readmodel.write_read_model, NotifyActivities(sessions).deliver_notice, *fakes.activities()],
            activity_executor=pool,
        ):
            harness = Harness(env, task_queue, fakes, sessions, search_attributes)
            yield harness
            await harness.terminate_leftovers()


@pytest.fixture
async def ts(task_queue: str, session_factory: sessionmaker[Session]) -> AsyncIterator[Harness]:
    """A fresh time-skipping server per test (starts in well under a second): skipped time and workflows left
    running never leak into the next test. It does not know custom search attributes: upserts are off."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=_binary("temporal-test-server")
    )
    try:
        async for h in _harness(env, task_queue, session_factory, search_attributes=False):
            yield h
    finally:
        await env.shutdown()


@pytest.fixture
async def both(
    workflow_env: WorkflowEnvironment,
    task_queue: str,
    session_factory: sessionmaker[Session],
    request: pytest.FixtureRequest,
) -> AsyncIterator[Harness]:
    sa = request.node.callspec.params["workflow_env"] == "dev-server"
    async for h in _harness(workflow_env, task_queue, session_factory, search_attributes=sa):
        yield h


@pytest.fixture
async def dev(
    dev_server_env: WorkflowEnvironment, task_queue: str, session_factory: sessionmaker[Session]
) -> AsyncIterator[Harness]:
    async for h in _harness(dev_server_env, task_queue, session_factory, search_attributes=True):
        yield h


@pytest.fixture
async def money(
    task_queue: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> AsyncIterator[tuple[Harness, Money]]:
    """A time-skipping harness whose invoices and credit notes are real (tests.workflows.money)."""
    from tests.workflows.money import money_harness

    async for pair in money_harness(task_queue, session_factory, tmp_path):
        yield pair
