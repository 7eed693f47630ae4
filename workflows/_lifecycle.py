"""What MissionWorkflow and MilestoneWorkflow share: projection to the read model, notices, durable
deadlines (reminder before, expiry handler after, frozen while the process is suspended) and calls to
capability activities that park the process in needs_attention when they fail for good.

Changing this module or the workflows: see "Changing a workflow" in the README (the replay gate).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError

from workflows.search_attributes import CLIENT_ORG, EXPERT_IDS, MISSION_STAGE, NEXT_DEADLINE

with workflow.unsafe.imports_passed_through():
    from activities.projection import (
        AuditRecord,
        MilestoneRow,
        MissionRow,
        NoticeRequest,
        Projection,
        RatingRecord,
        ReadModelBatch,
        TaskSpec,
    )
    from domain.actors import Actor, Role
    from domain.mission import Command, Deadline, PendingAction

T = TypeVar("T", bound=BaseModel)
L = TypeVar("L", bound="Lifecycle")
C = TypeVar("C", bound="Command")
R = TypeVar("R")
Party = Literal["client", "expert", "ops"]


def _party(role: Role) -> Party:
    return role.value


# A read-model write is a local activity: it runs in this worker within the workflow task, and an update's answer
# leaves once its write is done, so the read model already shows an action when its answer arrives.
WRITE_TIMEOUT = timedelta(seconds=30)
# the read model must eventually catch up: retry for as long as it takes, never fail the mission
WRITE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


def ops_audited(handler: Callable[[L, C], Awaitable[R]]) -> Callable[[L, C], Awaitable[R]]:
    """Under `@workflow.update`: when ops sent the update and the workflow accepted it, its audit entry (who, what,
    why, when, how it ended) is written by the workflow, exactly once, whatever door the action came through (API,
    portal, `innot ops`). Refusals are audited by the caller."""

    @functools.wraps(handler)
    async def audited(self: L, cmd: C) -> R:
        result = await handler(self, cmd)
        await self._audit_ops(handler.__name__, cmd)
        return result

    return audited


# Matching, rendering and signing take well under a second: a worker that died holding one is noticed after this
# timeout, and the activity retried on another worker.
CAPABILITY_TIMEOUT = timedelta(seconds=30)
# ~2.5 minutes of retries (1+2+4+8+16+4x30 s) before needs_attention: a database or document-store outage of a
# minute or two is not a failure for good (5 attempts, ~15 s, parked missions on a 30 s outage: tests/faults)
CAPABILITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
    non_retryable_error_types=["ValueError", "ValidationError"],
)


class Lifecycle:
    """Mixin of the two workflows. Subclasses set the attributes below in their run() before anything else."""

    _workflow_id: str
    _mission_id: UUID
    _seq: int
    _resume_requested: bool
    _search_attributes: bool
    _upserted: dict[str, Any]
    _suspended_at: datetime | None
    _writes: asyncio.Lock

    # --- hooks --------------------------------------------------------------------------------------

    def _deadlines(self) -> list[Deadline]:
        raise NotImplementedError

    def _pending(self) -> list[PendingAction]:
        raise NotImplementedError

    def _suspended(self) -> bool:
        raise NotImplementedError

    def _stage_name(self) -> str:
        raise NotImplementedError

    def _rows(self) -> tuple[MissionRow | None, MilestoneRow | None]:
        raise NotImplementedError

    def _search_values(self) -> dict[str, Any]:
        raise NotImplementedError

    def _audit_target(self) -> str:
        raise NotImplementedError

    async def _audit_ops(self, update: str, cmd: Command) -> None:
        if cmd.actor.role is not Role.OPS:
            return
        details: dict[str, object] = cmd.model_dump(mode="json", exclude={"actor"})
        details["outcome"] = f"done; stage {self._stage_name()}"
        reason = getattr(cmd, "reason", "")
        audit = AuditRecord(
            at=workflow.now(),
            actor_user_id=cmd.actor.user_id,
            action=update,
            target=self._audit_target(),
            reason=reason if isinstance(reason, str) and reason else update,
            details=details,
        )
        await self._write(ReadModelBatch(audits=[audit]))

    async def _on_expired(self, deadline: Deadline) -> None:
        await self._escalate(deadline)

    async def _enter_attention(self, reason: str) -> None:
        raise NotImplementedError

    async def _leave_attention(self) -> None:
        raise NotImplementedError

    # --- read model -----------------------------------------------------------------------------------

    async def _project(
        self,
        kind: str,
        summary: str = "",
        *,
        actor: Actor | None = None,
        open_tasks: list[PendingAction] | None = None,
        close_tasks: list[str] | None = None,
        details: dict[str, str] | None = None,
        outcome: str | None = None,
        rating: RatingRecord | None = None,
    ) -> None:
        """Record one event (timeline row, list row, tasks opened and closed, and the rating it gives), then upsert
        the search attributes that changed."""
        pending = self._pending()
        closing = set(close_tasks or [])
        if "*" in closing:
            pending.clear()
        else:
            pending[:] = [a for a in pending if a.key not in closing]
        for action in open_tasks or []:
            pending[:] = [a for a in pending if a.key != action.key]
            pending.append(action)
        self._seq += 1
        mission_row, milestone_row = self._rows()
        projection = Projection(
            workflow_id=self._workflow_id,
            seq=self._seq,
            mission_id=self._mission_id,
            at=workflow.now(),
            kind=kind,
            stage=self._stage_name(),
            summary=summary,
            actor_user_id=actor.user_id if actor else None,
            actor_role=actor.role.value if actor else None,
            details=details or {},
            mission=mission_row,
            milestone=milestone_row,
            open_tasks=[
                TaskSpec(
                    key=a.key,
                    role=_party(a.role),
                    party_id=a.party_id,
                    action=a.action,
                    title=a.title or a.action,
                    due_at=a.due,
                )
                for a in open_tasks or []
            ],
            close_tasks=sorted(closing),
            outcome=outcome,
        )
        await self._write(ReadModelBatch(projections=[projection], ratings=[rating] if rating else []))
        self._upsert_search_attributes()

    async def _write(self, batch: ReadModelBatch) -> None:
        """One write at a time, in the order they were asked for (the lock is fair), each carried to its end even
        when the coroutine that asked is cancelled (a mission cancelled during a stage): the next write, e.g. the
        one that closes every task, never overtakes it."""

        async def write() -> None:
            async with self._writes:
                await workflow.execute_local_activity(
                    "apply_read_model_batch",
                    batch,
                    result_type=int,
                    start_to_close_timeout=WRITE_TIMEOUT,
                    retry_policy=WRITE_RETRY,
                )

        await asyncio.shield(asyncio.create_task(write()))

    def _upsert_search_attributes(self) -> None:
        if self._search_attributes:
            self._upsert_changed()

    def _upsert_changed(self) -> None:
        values = self._search_values()
        updates: list[SearchAttributeUpdate[Any]] = []
        for name, value in values.items():
            if self._upserted.get(name) == value:
                continue
            self._upserted[name] = value
            if name == "NextDeadline":
                updates.append(NEXT_DEADLINE.value_set(value) if value else NEXT_DEADLINE.value_unset())
            elif name == "ExpertIds":
                updates.append(EXPERT_IDS.value_set(value))
            else:
                updates.append((MISSION_STAGE if name == "MissionStage" else CLIENT_ORG).value_set(value))
        if updates:
            workflow.upsert_search_attributes(updates)

    async def _notify(
        self, key: str, role: Party, party_id: UUID | None, kind: str, params: dict[str, str] | None = None
    ) -> None:
        notice = NoticeRequest(
            workflow_id=self._workflow_id,
            key=key,
            mission_id=self._mission_id,
            role=role,
            party_id=party_id,
            kind=kind,
            params=params or {},
        )
        await self._write(ReadModelBatch(notices=[notice]))

    # --- deadlines -----------------------------------------------------------------------------------------

    def _add_deadline(
        self, key: str, kind: str, span: timedelta, reminder: timedelta, due: datetime | None = None
    ) -> Deadline:
        due = due or workflow.now() + span
        deadline = Deadline(key=key, kind=kind, due=due, remind_at=due - reminder)
        self._drop_deadline(key)
        self._deadlines().append(deadline)
        return deadline

    def _drop_deadline(self, key: str) -> None:
        self._deadlines()[:] = [d for d in self._deadlines() if d.key != key]

    def _deadline(self, key: str) -> Deadline | None:
        return next((d for d in self._deadlines() if d.key == key), None)

    def _sync_suspension(self) -> None:
        """Note when a suspension starts; when it ends, give its length back to every running deadline."""
        now = workflow.now()
        if self._suspended() and self._suspended_at is None:
            self._suspended_at = now
        elif not self._suspended() and self._suspended_at is not None:
            self._shift_deadlines(now - self._suspended_at)
            self._suspended_at = None

    def _shift_deadlines(self, by: timedelta) -> None:
        """Time spent suspended (paused, disputed, under repair) does not count against anyone."""
        for d in self._deadlines():
            if not d.expired:
                d.due += by
                d.remind_at += by
        for a in self._pending():
            if a.due and a.deadline and self._deadline(a.deadline):
                a.due += by

    def _next_deadline(self) -> datetime | None:
        upcoming = [d.due for d in self._deadlines() if not d.expired]
        return min(upcoming) if upcoming else None

    async def _await(self, done: Callable[[], bool]) -> None:
        """Wait until done(), sending reminders and handling expiries of the deadlines on the way."""
        while not done():
            if self._suspended():
                await workflow.wait_condition(lambda: done() or not self._suspended())
                continue
            now = workflow.now()
            for d in list(self._deadlines()):
                if not d.reminded and not d.expired and now >= d.remind_at and now < d.due:
                    d.reminded = True
                    await self._remind(d)
                if not d.expired and now >= d.due:
                    d.expired = True
                    await self._on_expired(d)
            if done():
                return
            moments = self._moments()
            future = [m for m in moments if m > now]
            timeout = (min(future) - now) if future else None
            # woken early when a deadline is added, dropped or moved: the timer is then set again
            with suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: done() or self._suspended() or self._moments() != moments,  # noqa: B023
                    timeout=timeout,
                )

    def _moments(self) -> list[datetime]:
        """When the next reminders and expiries are due."""
        return [d.remind_at for d in self._deadlines() if not d.reminded and not d.expired] + [
            d.due for d in self._deadlines() if not d.expired
        ]

    async def _remind(self, d: Deadline) -> None:
        for a in self._pending():
            if a.deadline == d.key:
                await self._notify(
                    f"reminder:{a.key}:{d.due.isoformat()}",
                    _party(a.role),
                    a.party_id,
                    "reminder",
                    {"action": a.action, "due": d.due.isoformat()},
                )

    async def _escalate(self, d: Deadline) -> None:
        """A deadline passed without the expected action: an ops task, and the late party is told."""
        d.escalations += 1
        late = [a for a in self._pending() if a.deadline == d.key]
        for a in late:
            await self._notify(
                f"expired:{a.key}:{d.escalations}", _party(a.role), a.party_id, "deadline_expired", {"action": a.action}
            )
        await self._project(
            "deadline_escalated",
            f"deadline {d.key} passed",
            open_tasks=[
                PendingAction(
                    key=f"escalation:{d.key}",
                    role=Role.OPS,
                    party_id=None,
                    action="follow_up_deadline",
                    title=f"Deadline {d.kind} passed: {', '.join(a.action for a in late) or 'no action'}",
                )
            ],
            details={"deadline": d.key},
        )

    # --- capability calls ----------------------------------------------------------------------------------

    async def _call(self, step: str, activity: str, arg: BaseModel, result_type: type[T], task_queue: str | None) -> T:
        """Call another capability by activity name. A failure for good parks the process in needs_attention
        with the reason; ops `resume` retries the same step."""
        while True:
            try:
                result: T = await workflow.execute_activity(
                    activity,
                    arg,
                    result_type=result_type,
                    task_queue=task_queue,
                    start_to_close_timeout=CAPABILITY_TIMEOUT,
                    retry_policy=CAPABILITY_RETRY,
                )
                return result
            except ActivityError as err:
                cause = err.cause
                reason = f"{step} failed: {cause if cause is not None else err}"
                self._resume_requested = False
                await self._enter_attention(reason[:1000])
                await workflow.wait_condition(lambda: self._resume_requested)
                self._resume_requested = False
                await self._leave_attention()
