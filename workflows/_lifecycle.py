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


PROJECTION_TIMEOUT = timedelta(seconds=30)
# the read model must eventually catch up: retry for as long as it takes, never fail the mission
PROJECTION_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
AFTER_THE_ANSWER = timedelta(milliseconds=1)


def ops_audited(handler: Callable[[L, C], Awaitable[R]]) -> Callable[[L, C], Awaitable[R]]:
    """Under `@workflow.update`: when ops sent the update and the workflow accepted it, its audit entry (who, what,
    why, when, how it ended) goes in the same outbox batch as the event it recorded: written exactly once, by the
    workflow, whatever door the action came through (API, portal, `innot ops`). Refusals are audited by the caller."""

    @functools.wraps(handler)
    async def audited(self: L, cmd: C) -> R:
        result = await handler(self, cmd)
        self._audit_ops(handler.__name__, cmd)
        return result

    return audited


CAPABILITY_TIMEOUT = timedelta(minutes=2)
# the worker heartbeats for the activity while it runs (activities.heartbeat): a dead worker is noticed at once
CAPABILITY_HEARTBEAT = timedelta(seconds=20)
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
    _changes: int
    _resume_requested: bool
    _search_attributes: bool
    _upserted: dict[str, Any]
    _suspended_at: datetime | None
    _outbox: ReadModelBatch
    _outbox_urgent: bool
    _writing: bool
    _writing_urgent: bool
    _writer: asyncio.Task[None] | None
    _search_stale: bool
    _search_changes: int
    _search_writer: asyncio.Task[None] | None

    def _init_writes(self) -> None:
        self._outbox = ReadModelBatch()
        self._outbox_urgent = False
        self._writing = False
        self._writing_urgent = False
        self._writer = None
        self._search_stale = False
        self._search_changes = 0
        self._search_writer = None

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

    def _projected(self) -> None:
        """After an event is queued: a milestone tells its mission its new state."""

    def _audit_target(self) -> str:
        raise NotImplementedError

    def _audit_ops(self, update: str, cmd: Command) -> None:
        if cmd.actor.role is not Role.OPS:
            return
        details: dict[str, object] = cmd.model_dump(mode="json", exclude={"actor"})
        details["outcome"] = f"done; stage {self._stage_name()}"
        reason = getattr(cmd, "reason", "")
        self._outbox.audits.append(
            AuditRecord(
                at=workflow.now(),
                actor_user_id=cmd.actor.user_id,
                action=update,
                target=self._audit_target(),
                reason=reason if isinstance(reason, str) and reason else update,
                details=details,
            )
        )
        self._queued()

    def _stamp_version(self, seq: int) -> None:
        """Note in the view the sequence number of the last event recorded (what the read model will show)."""
        raise NotImplementedError

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
    ) -> None:
        """Record one event: timeline row, list row, tasks opened and closed; then the search attributes."""
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
        self._stamp_version(self._seq)
        self._outbox.projections.append(projection)
        self._queued()
        self._projected()
        self._upsert_search_attributes()

    # --- the outbox of read-model writes -------------------------------------------------------------------------
    # Events, notices and ratings are queued in order and written by one coroutine, a batch at a time (everything
    # queued meanwhile goes in the next batch, in one transaction). Nothing waits for the write but the end of the
    # workflow. A batch holding what an update handler queued must not hold the task that answers the update (a
    # local activity would, until the database write is done): it waits for a 1 ms timer and is written by a local
    # activity in the next task. The read model follows a few milliseconds later (the answer's `version` tells a
    # reader what to wait for). Other batches (timers, activity results) are local activities: no task-queue round trip.

    def _queued(self) -> None:
        if workflow.current_update_info() is not None:
            self._outbox_urgent = True
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_batches())

    def _nothing_to_write(self) -> bool:
        batch = self._outbox
        return not (batch.projections or batch.notices or batch.ratings or batch.audits)

    async def _write_batches(self) -> None:
        while True:
            await workflow.wait_condition(lambda: not self._nothing_to_write())
            urgent = self._outbox_urgent
            self._writing, self._writing_urgent = True, urgent
            try:
                if urgent:
                    # the update's answer leaves with this task; the write follows in the next one, with whatever
                    # else was queued meanwhile
                    await workflow.sleep(AFTER_THE_ANSWER)
                batch = self._outbox
                self._outbox, self._outbox_urgent = ReadModelBatch(), False
                await workflow.execute_local_activity(
                    "apply_read_model_batch",
                    batch,
                    result_type=int,
                    start_to_close_timeout=PROJECTION_TIMEOUT,
                    retry_policy=PROJECTION_RETRY,
                )
            finally:
                self._writing = self._writing_urgent = False

    async def _flush_writes(self) -> None:
        """Before the workflow ends: every queued write is in the read model, the search attributes are current."""
        await workflow.wait_condition(lambda: not self._writing and self._nothing_to_write() and not self._search_stale)

    async def _record_rating(self, rating: RatingRecord) -> None:
        self._outbox.ratings.append(rating)
        self._queued()

    def _upsert_search_attributes(self) -> None:
        """Note that they changed; one coroutine upserts them once the rest of the workflow task has run, with the
        values it left."""
        if not self._search_attributes:
            return
        self._search_stale = True
        self._search_changes += 1
        if self._search_writer is None:
            self._search_writer = asyncio.create_task(self._upsert_when_stale())

    async def _upsert_when_stale(self) -> None:
        while True:
            await workflow.wait_condition(lambda: self._search_stale)
            # what this task still unblocks (a stage's next step, a deadline) runs first: conditions are checked
            # once nothing is ready, and a step may take two rounds (woken, then its own wait), so wait until two
            # rounds in a row change nothing (a longer chain only costs a second upsert)
            seen, calm = self._search_changes, 0
            while calm < 2:
                await workflow.wait_condition(lambda: True)
                calm = calm + 1 if seen == self._search_changes else 0
                seen = self._search_changes
            if self._writing_urgent:
                # an update's write is on its way: upsert once it is done, so that the answer's task carries no upsert
                await workflow.wait_condition(lambda: not self._writing_urgent)
            self._search_stale = False
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
        self._outbox.notices.append(notice)
        self._queued()

    # --- deadlines -----------------------------------------------------------------------------------------

    def _add_deadline(
        self, key: str, kind: str, span: timedelta, reminder: timedelta, due: datetime | None = None
    ) -> Deadline:
        due = due or workflow.now() + span
        deadline = Deadline(key=key, kind=kind, due=due, remind_at=due - reminder)
        self._drop_deadline(key)
        self._deadlines().append(deadline)
        self._changes += 1
        return deadline

    def _drop_deadline(self, key: str) -> None:
        self._deadlines()[:] = [d for d in self._deadlines() if d.key != key]
        self._changes += 1

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
        self._changes += 1

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
            moments = [d.remind_at for d in self._deadlines() if not d.reminded and not d.expired]
            moments += [d.due for d in self._deadlines() if not d.expired]
            future = [m for m in moments if m > now]
            timeout = (min(future) - now) if future else None
            seen = self._changes
            with suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda seen=seen: done() or self._changes != seen or self._suspended(),  # type: ignore[misc]
                    timeout=timeout,
                )

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
                    heartbeat_timeout=CAPABILITY_HEARTBEAT,
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
