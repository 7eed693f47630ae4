"""`Deadlines`: a workflow's durable deadlines. Each has a reminder before it (to the parties whose pending action
answers it) and an expiry handler after it; all are frozen while the workflow is suspended (paused, disputed, under
repair): that time does not count against anyone. They live in the workflow's view, so a query shows them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import datetime, timedelta

from temporalio import workflow

from workflows.readmodel import ReadModel, View, next_due

with workflow.unsafe.imports_passed_through():
    from domain.actors import Role
    from domain.mission import Deadline, ExtendDeadline, PendingAction
    from domain.policy import Policy


class Deadlines:
    def __init__(
        self,
        view: View,
        policy: Policy,
        readmodel: ReadModel,
        *,
        suspended: Callable[[], bool],
        expired: Callable[[Deadline], Awaitable[None]],
    ) -> None:
        """`suspended`: whether the workflow is suspended now; `expired`: what the workflow does when a deadline
        passes (`escalate` unless it knows better)."""
        self._view = view
        self._policy = policy
        self._readmodel = readmodel
        self._suspended = suspended
        self._expired = expired
        self._suspended_at: datetime | None = None
        self._added_while_suspended: dict[str, datetime | None] = {}

    def add(
        self, key: str, kind: str, *, span: timedelta | None = None, due: datetime | None = None, remind: bool = True
    ) -> Deadline:
        """A deadline `span` from now (or at `due`), with the policy's reminder before it unless `remind` is off."""
        now = workflow.now()
        due = due or now + (span or timedelta(0))
        reminder = self._policy.reminder_for(due - now) if remind else timedelta(0)
        deadline = Deadline(key=key, kind=kind, due=due, remind_at=due - reminder)
        if self._suspended_at is not None:
            # added while suspended (a dispute's redo): when the suspension ends, a deadline at a given moment stays
            # there, one of a span gets back the time it waited; not the whole suspension
            self._added_while_suspended[key] = None if span is None else now
        self.drop(key)
        self._view.deadlines.append(deadline)
        return deadline

    def drop(self, key: str) -> None:
        self._view.deadlines[:] = [d for d in self._view.deadlines if d.key != key]

    def get(self, key: str) -> Deadline | None:
        return next((d for d in self._view.deadlines if d.key == key), None)

    async def extend(self, cmd: ExtendDeadline) -> None:
        """Ops move a deadline (its validator checked the key and the date): the pending actions that answer it move
        with it, its escalation task closes, and the event says until when."""
        d = self.get(cmd.key)
        assert d is not None
        moved = self._move(d, cmd.new_due)
        await self._readmodel.event(
            "deadline_extended",
            f"{d.key} until {d.due.isoformat()}",
            actor=cmd.actor,
            open_tasks=moved,
            close_tasks=[f"escalation:{d.key}"],
            outcome="deadline extended",
        )

    def _move(self, d: Deadline, new_due: datetime) -> list[PendingAction]:
        now = workflow.now()
        d.due = new_due
        d.remind_at = new_due - self._policy.reminder_for(new_due - now)
        d.reminded = d.remind_at <= now
        d.expired = False
        moved = [a for a in self._view.pending_actions if a.deadline == d.key]
        for a in moved:
            a.due = d.due
        return moved

    def sync_suspension(self) -> None:
        """Note when a suspension starts; when it ends, give its length back to every running deadline."""
        now = workflow.now()
        if self._suspended() and self._suspended_at is None:
            self._suspended_at = now
        elif not self._suspended() and self._suspended_at is not None:
            since, self._suspended_at = self._suspended_at, None
            added, self._added_while_suspended = self._added_while_suspended, {}

            def given_back(key: str) -> timedelta:
                start = added.get(key, since)
                return now - start if start is not None else timedelta(0)

            for d in self._view.deadlines:
                if not d.expired:
                    d.due += given_back(d.key)
                    d.remind_at += given_back(d.key)
            for a in self._view.pending_actions:
                if a.due and a.deadline and self.get(a.deadline):
                    a.due += given_back(a.deadline)

    def next_due(self) -> datetime | None:
        return next_due(self._view.deadlines)

    async def wait(self, done: Callable[[], bool]) -> None:
        """Wait until done(), sending the reminders and handling the expiries on the way."""
        while not done():
            if self._suspended():
                await workflow.wait_condition(lambda: done() or not self._suspended())
                continue
            now = workflow.now()
            for d in list(self._view.deadlines):
                if not d.reminded and not d.expired and d.remind_at <= now < d.due:
                    d.reminded = True
                    await self._remind(d)
                if not d.expired and now >= d.due:
                    d.expired = True
                    await self._expired(d)
            if done():
                return
            moments = self._moments()
            future = [m for m in moments if m > now]
            # woken early when a deadline is added, dropped or moved: the timer is then set again
            with suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: done() or self._suspended() or self._moments() != moments,  # noqa: B023
                    timeout=min(future) - now if future else None,
                )

    def _moments(self) -> list[datetime]:
        deadlines = self._view.deadlines
        return [d.remind_at for d in deadlines if not d.reminded and not d.expired] + [
            d.due for d in deadlines if not d.expired
        ]

    async def _remind(self, d: Deadline) -> None:
        for a in self._view.pending_actions:
            if a.deadline == d.key:
                await self._readmodel.notify(
                    f"reminder:{a.key}:{d.due.isoformat()}",
                    a.role.value,
                    a.party_id,
                    "reminder",
                    {"action": a.action, "due": d.due.isoformat()},
                )

    async def escalate(self, d: Deadline) -> None:
        """A deadline passed without the expected action: the late parties are told, and ops get a task."""
        d.escalations += 1
        late = [a for a in self._view.pending_actions if a.deadline == d.key]
        for a in late:
            await self._readmodel.notify(
                f"expired:{a.key}:{d.escalations}", a.role.value, a.party_id, "deadline_expired", {"action": a.action}
            )
        follow_up = PendingAction(
            key=f"escalation:{d.key}",
            role=Role.OPS,
            party_id=None,
            action="follow_up_deadline",
            title=f"Deadline {d.kind} passed: {', '.join(a.action for a in late) or 'no action'}",
        )
        await self._readmodel.event(
            "deadline_escalated", f"deadline {d.key} passed", open_tasks=[follow_up], details={"deadline": d.key}
        )
