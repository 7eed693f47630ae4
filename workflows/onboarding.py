"""`Onboarding`: the review of a member's legal data, composed into MembershipWorkflow (domain.onboarding).

The member's step (complete and submit, or fix and resubmit) has a deadline with a reminder before it; past it, a
first onboarding expires (the membership ends, never invoiced) and a later change is dropped (the approved version
stays in force). Ops' step (review) has a deadline too: past it, ops are told once. The commands change the state
and write it at once (an update answers once the read model shows it); `run` only keeps the time.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta
from typing import Literal
from uuid import UUID

from temporalio import workflow

from workflows.readmodel import ReadModel

with workflow.unsafe.imports_passed_through():
    from activities.projection import ReadModelWrite
    from domain.actors import Actor
    from domain.membership import Community
    from domain.onboarding import (
        OnboardingPolicy,
        OnboardingProjection,
        OnboardingStatus,
        OnboardingTask,
        OnboardingView,
    )

S = OnboardingStatus
Decision = Literal["approved", "changes_requested"]


class Onboarding:
    def __init__(
        self,
        view: OnboardingView,
        member_id: UUID,
        community: Community,
        readmodel: ReadModel,
        policy: OnboardingPolicy,
    ) -> None:
        self.view = view
        self._member_id = member_id
        self._community = community
        self._readmodel = readmodel
        self._policy = policy
        self._role: Literal["client", "expert"] = "client" if community == "client_organisation" else "expert"

    # --- the steps (each writes its state, its tasks and its notice before the update answers) ---------------------

    async def begin(self) -> None:
        """At registration: the member's task to complete and submit its legal data."""
        task = self._member_task("complete_onboarding", "Complete your legal data and proof documents, then submit")
        await self._enter(S.PROFILE, self._policy.submit_within, task)

    async def submitted(self, version_id: UUID, version: int) -> None:
        v = self.view
        v.version_id, v.version, v.rounds, v.reason = version_id, version, v.rounds + 1, ""
        review = OnboardingTask(
            key=f"review:{version}", role="ops", party_id=None, action="review_member",
            title=f"{self._community} {self._member_id}: legal data version {version}",
            due_at=workflow.now() + self._policy.review_within,
        )  # fmt: skip
        await self._enter(S.AWAITING_REVIEW, self._policy.review_within, review, remind=False)

    async def approved(self, actor: Actor) -> None:
        v = self.view
        v.approved_version, v.approved_at = v.version, workflow.now()
        await self._enter(S.APPROVED, None, None, decision="approved", reviewer=actor)
        await self._tell(f"approved:{v.version}", "onboarding_approved", {"version": str(v.version)})

    async def changes_requested(self, actor: Actor, reason: str) -> None:
        v = self.view
        v.reason = reason
        task = self._member_task("fix_onboarding", reason)
        await self._enter(S.CHANGES_REQUESTED, self._policy.resubmit_within, task, decision="changes_requested",
                          reviewer=actor)  # fmt: skip
        await self._tell(f"changes:{v.version}", "onboarding_changes_requested", {"reason": reason})

    async def _enter(
        self,
        to: OnboardingStatus,
        span: timedelta | None,
        task: OnboardingTask | None,
        *,
        remind: bool = True,
        decision: Decision | None = None,
        reviewer: Actor | None = None,
    ) -> None:
        v, now = self.view, workflow.now()
        closing, v.open_tasks = v.open_tasks, [task.key] if task else []
        v.status, v.due = to, now + span if span else None
        v.remind_at = v.due - self._policy.reminder(span) if v.due and span and remind else None
        v.reminded = v.late_told = False
        row = OnboardingProjection(
            workflow_id=self._readmodel.workflow_id, member_id=self._member_id, community=self._community,
            status=to, due=v.due, reason=v.reason, at=now, review=decision, version_id=v.version_id,
            reviewer_user_id=reviewer.user_id if reviewer else None,
            open_tasks=[task.model_copy(update={"due_at": v.due})] if task else [], close_tasks=closing,
        )  # fmt: skip
        await self._readmodel.write(ReadModelWrite(onboarding=row))

    def _member_task(self, action: str, title: str) -> OnboardingTask:
        return OnboardingTask(
            key=f"{action}:{self.view.rounds}", role=self._role, party_id=self._member_id, action=action, title=title
        )

    async def _tell(self, key: str, kind: str, params: dict[str, str] | None = None) -> None:
        await self._readmodel.notify(f"onboarding:{key}", self._role, self._member_id, kind, params)

    # --- the time ------------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Until cancelled (the end of the term) or expired: the reminder and the expiry of the step under way."""
        v = self.view
        while True:
            status, due = v.status, v.due
            if due is None or (status is S.AWAITING_REVIEW and v.late_told):
                await workflow.wait_condition(lambda: (v.status, v.due) != (status, due))  # noqa: B023
                continue
            reminding = v.remind_at is not None and not v.reminded
            moment = v.remind_at if reminding and v.remind_at else due
            if moment > workflow.now():
                with suppress(TimeoutError):
                    await workflow.wait_condition(
                        lambda: (v.status, v.due) != (status, due),  # noqa: B023
                        timeout=moment - workflow.now(),
                    )
            if (v.status, v.due) != (status, due):
                continue  # the step moved on before the moment
            if reminding:
                v.reminded = True
                await self._tell(f"reminder:{v.rounds}:{status.value}", "onboarding_reminder", {"due": due.isoformat()})
            elif status is S.AWAITING_REVIEW:
                v.late_told = True
                params = {"version": str(v.version), "since": (due - self._policy.review_within).isoformat()}
                key = f"onboarding:late:{v.version}"
                await self._readmodel.notify(key, "ops", None, "onboarding_review_late", params)
            elif v.approved_version is None:
                await self._enter(S.EXPIRED, None, None)
                await self._tell("expired", "onboarding_expired")
                return
            else:  # a change not fixed in time is dropped: the approved version stays in force
                v.version_id, v.version = None, v.approved_version
                await self._enter(S.APPROVED, None, None)
