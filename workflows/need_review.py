"""`NeedReview`: what happens to a need before matching, held by `Mission` (workflows/mission_process.py). A need
whose budget is above its organisation's threshold waits for an approver (with a deadline and a reminder); then, if
the policy wants it, ops qualify it; a rejected budget or a need ops ask details on goes back to the client, whose
revision goes through the same steps again. Changing this code: see "Changing a workflow" in the README.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import workflow

from workflows import mission_rules as rules
from workflows import mission_steps as steps

with workflow.unsafe.imports_passed_through():
    from domain.mission import ApproveBudget, PendingAction, QualifyNeed, RejectBudget, ReviseNeed
    from domain.org_roles import need_budget, needs_approval
    from domain.stages import BEFORE_MATCHING, Stage

if TYPE_CHECKING:
    from workflows.mission_process import Mission

Step = tuple[Stage, str, list[PendingAction]]


class NeedReview:
    def __init__(self, mission: Mission) -> None:
        self._m = mission

    def step(self) -> Step | None:
        """Where a submitted, approved or revised need goes next: to the organisation's approvers when its budget is
        above their threshold (with a deadline), to ops when the policy wants them to qualify it; None: to matching."""
        m = self._m
        if needs_approval(m.view.need, m.inp.approval_threshold, m.view.approved_budget):
            d = m.deadlines.add("approval", "approval", span=m.inp.policy.approval)
            return Stage.APPROVAL, "awaiting the budget's approval", [steps.approval_task(m.view, d)]
        if m.inp.policy.qualification_required:
            return Stage.QUALIFICATION, "awaiting ops qualification", [steps.qualify_task()]
        return None

    async def run(self) -> None:
        """The lifecycle's first stage: wait until the need reached matching (or the mission stopped)."""
        step = self.step()
        if step is None:
            return
        to, reason, tasks = step
        await self._m.advance(to, reason, open_tasks=tasks)
        # the approver's decision (approve, reject) and the ops decision (qualify) move on: to qualification or
        # matching, back to need for a revision, or cancel
        await self._m.deadlines.wait(lambda: self._m.view.stage not in BEFORE_MATCHING)

    async def revise(self, cmd: ReviseNeed) -> None:
        m = self._m
        m.view.need = cmd.need
        to, _, tasks = self.step() or (Stage.SHORTLIST, "", [])
        closing = [a.key for a in m.view.pending_actions if a.key in rules.REVISE_TASKS]
        await m.transition(to, "need revised", actor=cmd.actor, close_tasks=closing, open_tasks=tasks)

    async def approve(self, cmd: ApproveBudget) -> None:
        m = self._m
        budget = m.view.approved_budget = need_budget(m.view.need)
        m.deadlines.drop("approval")
        to, _, tasks = self.step() or (Stage.SHORTLIST, "", [])
        await m.transition(
            to,
            f"budget of {budget.amount} {budget.currency} approved",
            actor=cmd.actor,
            close_tasks=["approve_budget", "escalation:approval"],
            open_tasks=tasks,
            details={"reason": cmd.reason} if cmd.reason else {},
            outcome="approved",
        )

    async def reject(self, cmd: RejectBudget) -> None:
        m = self._m
        if cmd.outcome == "cancel":
            await m.stop_with(Stage.CANCELLED, f"budget rejected: {cmd.reason}", cmd.actor)
            return
        m.deadlines.drop("approval")
        revise = steps.client_task(m.view, "revise_budget", f"Budget not approved: {cmd.reason}"[:300])
        await m.transition(
            Stage.NEED,
            f"budget rejected: {cmd.reason}",
            actor=cmd.actor,
            close_tasks=["approve_budget", "escalation:approval"],
            open_tasks=[revise],
            outcome="rejected",
        )

    async def qualify(self, cmd: QualifyNeed) -> None:
        m = self._m
        if cmd.decision == "approve":
            await m.transition(Stage.SHORTLIST, "need approved", actor=cmd.actor, close_tasks=["qualify"])
        elif cmd.decision == "ask_details":
            details = steps.client_task(m.view, "need_details", f"Ops ask for details: {cmd.reason}")
            await m.transition(Stage.NEED, cmd.reason, actor=cmd.actor, close_tasks=["qualify"], open_tasks=[details])
        else:
            await m.stop_with(Stage.CANCELLED, f"rejected by ops: {cmd.reason}", cmd.actor)
