"""`ReadModel`: how a workflow writes to the read model (timeline, lists, inbox, notices, ops audit, membership rows)
and keeps its search attributes current. The three workflows write through it, one way:

- each write is the local activity `ReadModelActivities.write_read_model`, awaited: an update answers once its
  writes are done, so when an action's answer arrives the read model already shows it;
- one write at a time, in the order asked (the lock is fair), and each carried to its end even when the coroutine
  that asked is cancelled (a mission cancelled during a stage): the write that closes every task never overtakes
  the one that opened one;
- an accepted ops action (`ops_audited`) is audited in the same write as the first event it records;
- every task an event opens is told to its party (a notice of kind `task`), in the same write; each notice is then
  delivered by the activity `NotifyActivities.deliver_notice` (e-mail, retried with back-off while the mail server
  is down), which the workflow does not wait for until it ends (`notices_delivered`).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol, TypeVar
from uuid import UUID

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.search_attributes import SearchAttributes

with workflow.unsafe.imports_passed_through():
    from activities.notify import NoticeRef, NotifyActivities
    from activities.projection import (
        AuditRecord,
        MilestoneRow,
        MissionRow,
        NoticeRequest,
        Projection,
        RatingRecord,
        RatingReply,
        RatingsRevealed,
        ReadModelWrite,
        TaskSpec,
    )
    from activities.readmodel import ReadModelActivities
    from domain.actors import Actor, Role
    from domain.dispute import DisputeView
    from domain.mission import Command, Deadline, MilestoneView, MissionView, PendingAction

View = MissionView | MilestoneView | DisputeView
Party = Literal["client", "expert", "ops"]

WRITE_TIMEOUT = timedelta(seconds=30)
# the read model must eventually catch up: retry for as long as it takes, never fail the process
WRITE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
# an e-mail is retried while the mail server is down, for up to three days (then it stays failed, visible to ops)
DELIVERY_TIMEOUT = timedelta(minutes=2)
DELIVERY_DEADLINE = timedelta(days=3)
DELIVERY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=10), maximum_interval=timedelta(minutes=10))


class ReadModel:
    def __init__(self, workflow_id: str, subject_id: UUID, view: View | None = None, *, search: bool = False):
        """`subject_id`: the mission (or, for a membership, the member) the writes are about; `view`: the state
        whose events are recorded (mission and milestone); `search`: upsert the search attributes."""
        self.workflow_id = workflow_id
        self._subject_id = subject_id
        self._view = view
        self._search = SearchAttributes(search)
        self._seq = 0
        self._turn = asyncio.Lock()
        self._deliveries: list[asyncio.Future[int]] = []

    async def event(
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
        reveal: RatingsRevealed | None = None,
        reply: RatingReply | None = None,
    ) -> None:
        """Record one event of the view: its timeline row, the list row, the tasks it opens and closes (in the view's
        pending actions too), the rating it gives, reveals or answers; then upsert the search attributes that
        changed."""
        view = self._view
        assert view is not None, "a membership records no events"
        closing = set(close_tasks or [])
        opening = {a.key for a in open_tasks or []}
        view.pending_actions[:] = [
            a for a in view.pending_actions if "*" not in closing and a.key not in closing | opening
        ] + list(open_tasks or [])
        self._seq += 1
        event = Projection(
            workflow_id=self.workflow_id,
            seq=self._seq,
            mission_id=self._subject_id,
            at=workflow.now(),
            kind=kind,
            stage=view.stage.value,
            summary=summary,
            actor_user_id=actor.user_id if actor else None,
            actor_role=actor.role.value if actor else None,
            details=details or {},
            mission=mission_row(view) if isinstance(view, MissionView) else None,
            milestone=milestone_row(view) if isinstance(view, MilestoneView) else None,
            open_tasks=[task_spec(a) for a in open_tasks or []],
            close_tasks=sorted(closing),
            outcome=outcome,
        )
        told = [self._task_notice(a) for a in open_tasks or []]
        await self.write(
            ReadModelWrite(
                event=event, rating=rating, reveal=reveal, reply=reply, audit=self._ops_audit(), notices=told
            )
        )
        self._deliver(told)
        if isinstance(view, MissionView):
            self._search.upsert(
                view.stage.value, str(view.client_org_id), [str(e) for e in view.expert_ids()], next_due(view.deadlines)
            )
        elif isinstance(view, MilestoneView):
            self._search.upsert(
                f"milestone:{view.stage.value}",
                str(view.client_org_id),
                [str(view.expert_id)],
                next_due(view.deadlines),
            )

    async def notify(
        self, key: str, role: Party, party_id: UUID | None, kind: str, params: dict[str, str] | None = None
    ) -> None:
        """Queue a notice to a party (the mailer sends it once: `key` is unique per workflow)."""
        notice = NoticeRequest(
            workflow_id=self.workflow_id,
            key=key,
            mission_id=self._subject_id,
            role=role,
            party_id=party_id,
            kind=kind,
            params=params or {},
        )
        await self.write(ReadModelWrite(notices=[notice]))
        self._deliver([notice])

    def _task_notice(self, a: PendingAction) -> NoticeRequest:
        """A task that opens is told to its party: what is expected of them, and by when."""
        params = {"action": a.action, "title": a.title or a.action} | ({"due": a.due.isoformat()} if a.due else {})
        role: Party = a.role.value
        return NoticeRequest(
            workflow_id=self.workflow_id,
            key=f"task:{a.key}:{self._seq}",
            mission_id=self._subject_id,
            role=role,
            party_id=a.party_id,
            kind="task",
            params=params,
        )

    def _deliver(self, notices: list[NoticeRequest]) -> None:
        for notice in notices:
            self._deliveries.append(
                workflow.start_activity_method(
                    NotifyActivities.deliver_notice,
                    NoticeRef(workflow_id=notice.workflow_id, key=notice.key),
                    start_to_close_timeout=DELIVERY_TIMEOUT,
                    schedule_to_close_timeout=DELIVERY_DEADLINE,
                    retry_policy=DELIVERY_RETRY,
                )
            )

    async def notices_delivered(self) -> None:
        """Before the workflow ends: its notices' deliveries are done (one that failed for good stays visible to
        ops in the notice's delivery state; it does not fail the process)."""
        await asyncio.gather(*self._deliveries, return_exceptions=True)

    async def write(self, change: ReadModelWrite) -> None:
        async def in_turn() -> None:
            async with self._turn:
                await workflow.execute_local_activity_method(
                    ReadModelActivities.write_read_model,
                    change,
                    start_to_close_timeout=WRITE_TIMEOUT,
                    retry_policy=WRITE_RETRY,
                )

        await asyncio.shield(asyncio.create_task(in_turn()))

    async def audit_unrecorded(self) -> None:
        """The audit entry of the ops action being handled, when none of its events carried it."""
        audit = self._ops_audit()
        if audit is not None:
            await self.write(ReadModelWrite(audit=audit))

    def _ops_audit(self) -> AuditRecord | None:
        """The audit entry of the ops action being handled (in this update's task), the first time it is asked."""
        action = _OPS_ACTION.get()
        if action is None or action.audited:
            return None
        action.audited = True
        cmd = action.command
        details: dict[str, object] = cmd.model_dump(mode="json", exclude={"actor"})
        details["outcome"] = f"done; stage {self._view.stage.value if self._view else ''}"
        reason = getattr(cmd, "reason", "")
        return AuditRecord(
            at=workflow.now(),
            actor_user_id=cmd.actor.user_id,
            action=action.update,
            target=self.workflow_id,
            reason=reason if isinstance(reason, str) and reason else action.update,
            details=details,
        )


# --- ops actions are audited by the workflow that accepts them --------------------------------------------------


@dataclass
class _OpsAction:
    update: str
    command: Command
    audited: bool = False


# Each update handler runs in its own task (and context): what one sets here, only its own writes see.
_OPS_ACTION: ContextVar[_OpsAction | None] = ContextVar("ops_action", default=None)


class _Recording(Protocol):
    readmodel: ReadModel


W = TypeVar("W", bound=_Recording)
C = TypeVar("C", bound=Command)
R = TypeVar("R")


def ops_audited(handler: Callable[[W, C], Awaitable[R]]) -> Callable[[W, C], Awaitable[R]]:
    """Under `@workflow.update`: when ops sent the update and the workflow accepted it, its audit entry (who, what,
    why, when, how it ended) is written by the workflow, exactly once, whatever door the action came through (API,
    portal, `innot ops`): with the first event the action records, or alone at its end. Refusals are audited by
    the caller."""

    @functools.wraps(handler)
    async def audited(self: W, cmd: C) -> R:
        if cmd.actor.role is not Role.OPS:
            return await handler(self, cmd)
        action = _OpsAction(handler.__name__, cmd)
        _OPS_ACTION.set(action)
        result = await handler(self, cmd)
        await self.readmodel.audit_unrecorded()
        return result

    return audited


# --- what the read model holds of a view ---------------------------------------------------------------------


def next_due(deadlines: list[Deadline]) -> datetime | None:
    upcoming = [d.due for d in deadlines if not d.expired]
    return min(upcoming) if upcoming else None


def task_spec(a: PendingAction) -> TaskSpec:
    role: Party = a.role.value
    return TaskSpec(key=a.key, role=role, party_id=a.party_id, action=a.action, title=a.title or a.action, due_at=a.due)


def mission_row(view: MissionView) -> MissionRow:
    experts = {str(expert_id): part for expert_id, part in view.participations().items()}
    return MissionRow(
        mission_id=view.mission_id,
        client_org_id=view.client_org_id,
        title=view.need.title,
        business_function=view.need.business_function,
        stage=view.stage.value,
        paused=view.paused,
        selected_expert_id=view.selected_expert_id,
        next_deadline=next_due(view.deadlines),
        closed_reason=view.closed_reason,
        experts=experts,
    )


def milestone_row(view: MilestoneView) -> MilestoneRow:
    return MilestoneRow(
        mission_id=view.mission_id,
        number=view.number,
        title=view.title,
        amount=view.amount.amount,
        currency=view.amount.currency,
        stage=view.stage.value,
        invoice_number=view.invoice.number if view.invoice else None,
        invoice_due=view.invoice_due,
        paid_on=view.paid_on,
    )
