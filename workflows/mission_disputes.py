"""`Disputes`: a mission's disputes and its cancellation by agreement, held by `Mission` (workflows/mission_process.py).

A dispute is a child workflow (workflows/dispute.py, `mission:{id}:dispute:{n}`): opening one moves the mission to
`disputed` and holds its milestones; the child's result (ops' decision) is carried out here: continue where the
mission stopped; accept the disputed milestone in part (it issues a partial invoice) or have it redone by a new
deadline, then continue; or end the mission, whose unpaid invoices are cancelled by credit notes.

After the contract binds, a party's cancellation is a proposal the other party agrees to by cancelling with the same
choice for the unpaid invoices (kept due, or cancelled by credit notes); ops cancel alone. Changing this code: see
"Changing a workflow" in the README (the replay gate).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

from workflows import mission_rules as rules
from workflows import mission_steps as steps
from workflows.dispute import DisputeWorkflow
from workflows.milestone import ACCEPTED, FINAL, MilestoneWorkflow, quietly

with workflow.unsafe.imports_passed_through():
    from domain.dispute import Decision, StartDispute, Statement, dispute_workflow_id
    from domain.mission import CancelMission, CancelRequest, MilestoneSettlement, OpenDispute
    from domain.money import Money
    from domain.stages import MilestoneStage, Stage

if TYPE_CHECKING:
    from workflows.mission_process import Mission


class Disputes:
    def __init__(self, mission: Mission) -> None:
        self._m = mission
        self._running: asyncio.Task[None] | None = None  # waits for the running dispute's decision

    async def open(self, cmd: OpenDispute) -> None:
        m, view = self._m, self._m.view
        view.disputes += 1
        n, party = view.disputes, rules.signing_party(cmd.actor)
        view.dispute_reason = cmd.reason[:300]
        disputed = next((x for x in view.milestones if x.number == cmd.milestone), None)
        assert view.selected_expert_id is not None
        start = StartDispute(
            mission_id=view.mission_id,
            number=n,
            client_org_id=view.client_org_id,
            expert_id=view.selected_expert_id,
            opened=Statement(
                party=party, user_id=cmd.actor.user_id, text=cmd.reason, evidence=cmd.evidence, at=workflow.now()
            ),
            milestone_number=cmd.milestone,
            milestone_amount=disputed.amount if disputed else None,
            milestone_accepted=disputed is not None and disputed.stage in ACCEPTED | FINAL,
            milestone_paid=disputed is not None and disputed.stage is MilestoneStage.PAID,
            policy=view.policy,
        )
        about = f"milestone {cmd.milestone}" if cmd.milestone else "the mission"
        details = {"dispute": str(n), "about": about}
        await m.transition(Stage.DISPUTED, f"dispute opened by the {party}", actor=cmd.actor, details=details)
        m.hold_milestones()
        handle = await workflow.start_child_workflow(
            DisputeWorkflow.run,
            start,
            id=dispute_workflow_id(view.mission_id, n),
            parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
        )
        self._running = asyncio.create_task(self._carry_out(n, cmd.milestone, handle))

    def stop(self) -> None:
        """The mission stops: the running dispute is cancelled with it."""
        if self._running is not None and not self._running.done():
            self._running.cancel()

    async def _carry_out(
        self, n: int, milestone: int | None, handle: workflow.ChildWorkflowHandle[DisputeWorkflow, Decision]
    ) -> None:
        try:
            decision = await handle
        except ChildWorkflowError:
            return  # cancelled with the mission
        m, view = self._m, self._m.view
        if m.stop is not None or view.stage is not Stage.DISPUTED:
            return
        reason = f"dispute {n} decided ({decision.outcome}): {decision.reason}"
        if decision.outcome == "end":
            m.stop = (Stage.CANCELLED, reason, decision.actor, "credit")
            return
        disputed = next((x for x in view.milestones if x.number == milestone), None)
        if decision.outcome in ("partial", "redo") and disputed is not None:
            amount = Money(amount=decision.amount, currency=disputed.amount.currency) if decision.amount else None
            settlement = MilestoneSettlement(
                outcome=decision.outcome, reason=decision.reason, amount=amount, new_due=decision.new_due
            )
            signal = workflow.get_external_workflow_handle(disputed.workflow_id).signal(
                MilestoneWorkflow.settle, settlement
            )
            m.signals.append(asyncio.create_task(quietly(signal)))
        view.dispute_reason = None
        back = view.resume_stage or Stage.DELIVERY
        await m.transition(back, reason, actor=decision.actor, outcome=decision.outcome, details={"dispute": str(n)})
        m.hold_milestones()

    # --- cancellation ---------------------------------------------------------------------------------------

    async def cancel(self, cmd: CancelMission) -> None:
        m, view = self._m, self._m.view
        binds = view.contract is not None and view.contract.binds()
        if cmd.actor.role.value == "ops" or not binds:
            await m.stop_with(Stage.CANCELLED, cmd.reason, cmd.actor, cmd.unpaid_invoices)
            return
        party = rules.signing_party(cmd.actor)
        request = view.cancel_request
        if request is not None and request.by != party:
            reason = f"cancelled by agreement: {request.reason}"
            await m.stop_with(Stage.CANCELLED, reason, cmd.actor, request.unpaid_invoices)
            return
        view.cancel_request = CancelRequest(
            by=party, reason=cmd.reason, unpaid_invoices=cmd.unpaid_invoices, at=workflow.now()
        )
        title = f"The {party} asks to cancel the mission (unpaid invoices: {cmd.unpaid_invoices}): agree or dispute"
        if party == "client":
            other = steps.expert_task(view.selected_expert_id, "agree_cancellation", "agree_cancellation", title)
        else:
            other = steps.client_task(view, "agree_cancellation", title, action="agree_cancellation")
        details: dict[str, str] = {"unpaid_invoices": cmd.unpaid_invoices}
        await m.readmodel.event(
            "cancellation_proposed", cmd.reason, actor=cmd.actor, open_tasks=[other], details=details
        )
