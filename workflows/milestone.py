"""MilestoneWorkflow (id `mission:{id}:milestone:{n}`): a child of MissionWorkflow, one per milestone.

The expert submits a deliverable (document id + SHA-256; the bytes stay in the document store); the client
accepts or asks for a revision (bounded rounds); silence past the review period accepts. Acceptance issues the
expert's invoice to the client (`InvoiceActivities.issue_mission_invoice`, idempotent on the milestone id), then
payment is tracked: reminder before the due date, late-payment notice and an ops task after it, follow-up
reminders, until the client confirms the payment.

Updates for a milestone go to this child directly (its id is derived from the mission id and the number). The
mission holds the child (signal `hold`) while it is paused or disputed, and passes it a dispute's decision (signal
`settle`: partial acceptance, redo by a new deadline); the child tells the mission (signal `milestone_changed`) what
the mission needs: its acceptance, its invoice and its end. A reader of the mission's state gets each running
milestone's live state from the milestone itself (workflows.client.mission_state).
Changing this code: see "Changing a workflow" in the README (the replay gate).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from contextlib import suppress
from datetime import UTC, datetime, time, timedelta
from typing import Any

from temporalio import workflow

from workflows.deadlines import Deadlines
from workflows.milestone_billing import Billing, client_task, end_of
from workflows.mission_rules import check_extend
from workflows.readmodel import ReadModel, ops_audited

with workflow.unsafe.imports_passed_through():
    from domain.actors import Actor, Role
    from domain.mission import (
        AcceptDeliverable,
        ConfirmPayment,
        Deadline,
        ExtendDeadline,
        MilestoneHandover,
        MilestoneHold,
        MilestoneSettlement,
        MilestoneView,
        PendingAction,
        ReportNonPayment,
        RequestRevision,
        ResumeMission,
        StartMilestone,
        SubmitDeliverable,
        is_client_member,
        is_expert,
        is_ops,
    )
    from domain.money import Money
    from domain.stages import MilestoneStage, can_move_milestone

MS = MilestoneStage
# the stages at which the mission counts a milestone as accepted (it moves to feedback once all are)
ACCEPTED = frozenset({MS.INVOICING, MS.AWAITING_PAYMENT, MS.PAID})
# a milestone's last stages: its state is final, and readers take the mission's copy of it
FINAL = frozenset({MS.PAID, MS.CANCELLED})


class IllegalMilestoneMove(RuntimeError):
    """A bug: fails the workflow task (retried) rather than the milestone."""


async def quietly(signal: Awaitable[None]) -> None:
    """Send a signal to another workflow, which may have ended already (a cancelled mission or milestone)."""
    with suppress(Exception):
        await signal


@workflow.defn(name="MilestoneWorkflow")
class MilestoneWorkflow:
    @workflow.init
    def __init__(self, inp: StartMilestone) -> None:
        self.inp = inp
        self.view = MilestoneView(
            workflow_id=workflow.info().workflow_id,
            mission_id=inp.mission_id,
            number=inp.number,
            title=inp.plan.title,
            amount=Money(amount=inp.plan.amount, currency=inp.currency),
            due_date=inp.plan.due_date,
            stage=MS.AWAITING_DELIVERABLE,
            client_org_id=inp.client_org_id,
            expert_id=inp.expert_id,
        )
        self.readmodel = ReadModel(self.view.workflow_id, inp.mission_id, self.view, search=inp.search_attributes)
        self.deadlines = Deadlines(
            self.view, inp.policy, self.readmodel, suspended=self._suspended, expired=self._on_expired
        )
        self.billing = Billing(
            inp, self.view, self.readmodel, self.deadlines,
            advance=self._advance, transition=self._transition, repair=self._repair,
        )  # fmt: skip
        self._started = False  # `milestone_started` is recorded: the first event (seq 1) is the milestone's start
        self._resume_requested = False
        self._resume_stage = MS.AWAITING_DELIVERABLE  # where a repair returns to
        self._told: tuple[MilestoneStage, Any, str] = (MS.AWAITING_DELIVERABLE, inp.expert_id, "")  # as last told
        self._signals: list[asyncio.Task[None]] = []  # sent to the mission; nobody waits for its ack

    @workflow.run
    async def run(self, inp: StartMilestone) -> MilestoneView:
        try:
            await self._lifecycle()
        except asyncio.CancelledError:
            # the mission was cancelled or settled: close this milestone's tasks, then end as cancelled
            self.view.deadlines.clear()
            await asyncio.shield(self._transition(MS.CANCELLED, "mission stopped", close_tasks=["*"]))
            raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        await asyncio.gather(*self._signals)
        await self.readmodel.notices_delivered()
        return self.view

    async def _lifecycle(self) -> None:
        end_of_due_date = datetime.combine(self.inp.plan.due_date, time(23, 59, 59), tzinfo=UTC)
        d = self.deadlines.add(
            "deliverable:0", "deliverable", due=end_of(end_of_due_date, workflow.now() + timedelta(days=1))
        )
        await self.readmodel.event("milestone_started", self.inp.plan.title, open_tasks=[self._deliver_task(d)])
        self._started = True
        while True:
            # a dispute's decision may accept the milestone in part (-> invoicing) before any review
            await self.deadlines.wait(lambda: self.view.stage is not MS.AWAITING_DELIVERABLE)
            if self._stage() is MS.INVOICING:
                break
            r = self.deadlines.add(f"review:{self.view.revisions}", "review", span=self.inp.policy.review)
            title = f"Review the deliverable of '{self.inp.plan.title}'"
            review = client_task(self.inp, r.key, "review_deliverable", title, r)
            await self.readmodel.event("review_opened", "deliverable to review", open_tasks=[review])
            await self.deadlines.wait(lambda: self.view.stage is not MS.IN_REVIEW)
            self.deadlines.drop(r.key)
            if self.view.stage is MS.INVOICING:
                break
        while True:
            await self.billing.invoice()
            # a dispute may accept the milestone in part after its invoice: credit note, then a new invoice
            await self.deadlines.wait(lambda: self.view.stage in (MS.PAID, MS.INVOICING))
            if self._stage() is MS.PAID:
                break

    def _deliver_task(self, d: Deadline) -> PendingAction:
        return PendingAction(
            key=f"deliver:{self.view.revisions}",
            role=Role.EXPERT,
            party_id=self.inp.expert_id,
            action="submit_deliverable",
            title=f"Deliver '{self.inp.plan.title}'",
            due=d.due,
            deadline=d.key,
        )

    # --- the one door -------------------------------------------------------------------------------------

    async def _transition(self, to: MilestoneStage, reason: str, *, actor: Actor | None = None, **event: Any) -> None:
        """Check the move, set the stage, record the event (read model and search attributes), tell the mission
        when it matters to it."""
        frm = self.view.stage
        if not can_move_milestone(frm, to):
            raise IllegalMilestoneMove(f"{frm} -> {to} not allowed")
        if to is MS.NEEDS_ATTENTION:
            self._resume_stage = frm
        self.view.stage = to
        self.deadlines.sync_suspension()
        details = {"from": frm.value, "milestone": str(self.inp.number), **event.pop("details", {})}
        await self.readmodel.event(f"milestone:{to.value}", reason, actor=actor, details=details, **event)
        self._tell_mission()

    def _tell_mission(self) -> None:
        """The mission's copy of this milestone follows what the mission needs: its stage (its acceptance and end; a
        deliverable in review cannot be handed over), its expert and its invoice (to settle it). The signal leaves
        with this workflow task; nothing waits for the mission to receive it but the end of the run."""
        parent = workflow.info().parent
        told = (self.view.stage, self.view.expert_id, (self.view.invoice.number or "") if self.view.invoice else "")
        if parent is None or told == self._told:
            return
        self._told = told
        signal = workflow.get_external_workflow_handle(parent.workflow_id).signal("milestone_changed", self.view)
        self._signals.append(asyncio.create_task(quietly(signal)))

    async def _advance(self, to: MilestoneStage, reason: str, **event: Any) -> None:
        await workflow.wait_condition(lambda: not self._suspended())
        await self._transition(to, reason, **event)

    def _stage(self) -> MilestoneStage:
        """The stage now (a signal or an update may have moved it while the lifecycle waited)."""
        return self.view.stage

    def _suspended(self) -> bool:
        return self.view.held or self.view.stage is MS.NEEDS_ATTENTION

    async def _repair(self, reason: str) -> None:
        """Park the milestone in needs_attention with an ops task; return once ops resumed it (update `resume`)."""
        self._resume_requested, self.view.attention_reason = False, reason
        task = PendingAction(key="attention", role=Role.OPS, party_id=None, action="repair", title=reason[:300])
        await self._transition(MS.NEEDS_ATTENTION, reason, open_tasks=[task])
        await workflow.wait_condition(lambda: self._resume_requested)
        self.view.attention_reason = None
        await self._transition(self._resume_stage, "resumed by ops", close_tasks=["attention"])

    async def _on_expired(self, deadline: Deadline) -> None:
        if deadline.kind == "review":
            self.view.accepted_at, self.view.accepted_automatically = workflow.now(), True
            reason = "accepted automatically: review period passed"
            await self._transition(MS.INVOICING, reason, close_tasks=[deadline.key])
            client = self.inp.client_org_id
            await self.readmodel.notify(f"auto_accepted:{deadline.key}", "client", client, "deliverable_auto_accepted")
        elif deadline.kind in ("payment", "payment_followup"):
            await self.billing.late(deadline)
        else:
            await self.deadlines.escalate(deadline)

    # --- queries, signals, updates -------------------------------------------------------------------------

    @workflow.query
    def state(self) -> MilestoneView:
        return self.view

    @workflow.signal
    def hold(self, hold: MilestoneHold) -> None:
        self.view.held = hold.held
        self.deadlines.sync_suspension()

    @workflow.signal
    async def settle(self, settlement: MilestoneSettlement) -> None:
        """A dispute's decision (from the mission, which holds this milestone meanwhile): accept in part, or redo
        the deliverable by a new deadline."""
        await workflow.wait_condition(lambda: self._started)
        if settlement.outcome == "partial" and self.view.stage is MS.AWAITING_PAYMENT and not self.view.credit_note:
            await self.billing.correct(settlement)
            return
        if self.view.stage not in (MS.AWAITING_DELIVERABLE, MS.IN_REVIEW):
            return  # accepted meanwhile: the decision's validator saw it was not (a race the mission lost)
        r = self.view.revisions
        closing = [f"review:{r}", f"deliver:{r}", f"escalation:review:{r}", f"escalation:deliverable:{r}"]
        self.deadlines.drop(f"review:{self.view.revisions}")
        self.deadlines.drop(f"deliverable:{self.view.revisions}")
        if settlement.outcome == "partial":
            assert settlement.amount is not None
            self.view.amount, self.view.partial, self.view.accepted_at = settlement.amount, True, workflow.now()
            details = {"amount": str(settlement.amount.amount)}
            reason = f"accepted in part by the dispute's decision: {settlement.reason}"
            await self._transition(MS.INVOICING, reason, close_tasks=closing, details=details)
            return
        assert settlement.new_due is not None
        if self.view.stage is MS.IN_REVIEW:
            self.view.revisions += 1
        d = self.deadlines.add(f"deliverable:{self.view.revisions}", "deliverable", due=settlement.new_due)
        reason = f"to redo by {settlement.new_due.isoformat()}: {settlement.reason}"
        details = {"revision": str(self.view.revisions), "due": settlement.new_due.isoformat()}
        if self.view.stage is MS.IN_REVIEW:
            await self._transition(
                MS.AWAITING_DELIVERABLE,
                reason,
                close_tasks=closing,
                open_tasks=[self._deliver_task(d)],
                details=details,
            )
        else:
            await self.readmodel.event(
                "milestone_redo", reason, close_tasks=closing, open_tasks=[self._deliver_task(d)], details=details
            )

    @workflow.signal
    async def hand_over(self, handover: MilestoneHandover) -> None:
        """A sealed contract amendment (from the mission, which held this milestone meanwhile) hands it over to
        another expert: their delivery task, by the amendment's due date, and their invoice, which refers to the
        amendment. A milestone accepted meanwhile stays with its expert (a race the amendment lost)."""
        await workflow.wait_condition(lambda: self._started)
        if self.view.stage not in (MS.AWAITING_DELIVERABLE, MS.IN_REVIEW):
            return
        r = self.view.revisions
        closing = [f"review:{r}", f"deliver:{r}", f"escalation:review:{r}", f"escalation:deliverable:{r}"]
        self.deadlines.drop(f"review:{r}")
        self.deadlines.drop(f"deliverable:{r}")
        former = self.inp.expert_id
        # the input is shared with the billing: the invoice is the new expert's, under the amendment
        self.inp.expert_id, self.inp.contract_id = handover.expert_id, handover.contract_id
        self.view.expert_id, self.view.due_date = handover.expert_id, handover.due_date
        if self.view.stage is MS.IN_REVIEW:  # submitted before the hold arrived: the new expert delivers anew
            self.view.revisions += 1
        due = end_of(datetime.combine(handover.due_date, time(23, 59, 59), tzinfo=UTC), workflow.now())
        d = self.deadlines.add(f"deliverable:{self.view.revisions}", "deliverable", due=due)
        details = {"from": str(former), "expert_id": str(handover.expert_id), "due": handover.due_date.isoformat()}
        if self.view.stage is MS.IN_REVIEW:
            await self._transition(
                MS.AWAITING_DELIVERABLE,
                handover.reason,
                close_tasks=closing,
                open_tasks=[self._deliver_task(d)],
                details=details,
            )
        else:
            await self.readmodel.event(
                "milestone_handed_over",
                handover.reason,
                close_tasks=closing,
                open_tasks=[self._deliver_task(d)],
                details=details,
            )
            self._tell_mission()

    def _check(self, actor: Actor, stage: MilestoneStage, *, client: bool, doing: str) -> None:
        if self.view.held and not is_ops(actor):
            raise ValueError("the mission is on hold (paused or disputed)")
        if self.view.stage is not stage:
            raise ValueError(f"cannot {doing} while the milestone is {self.view.stage.value}")
        if client and not is_client_member(actor, self.inp.client_org_id):
            raise ValueError(f"only a member of the client organisation may {doing}")
        if not client and not is_expert(actor, self.inp.expert_id):
            raise ValueError(f"only the mission's expert may {doing}")

    @workflow.update
    @ops_audited
    async def submit_deliverable(self, cmd: SubmitDeliverable) -> MilestoneView:
        # A worker killed after the start's read-model write (a local activity) but before its workflow task
        # completed: the retried task carries the start and this update, and the SDK runs update handlers first.
        # Recorded first, the submission would take seq 1, which the read model holds already (the start, seen:
        # skipped), and the start seq 2 (tests/faults found a timeline without the review).
        await workflow.wait_condition(lambda: self._started)
        self.view.deliverable_document_id, self.view.deliverable_sha256 = cmd.document_id, cmd.sha256
        key = f"deliverable:{self.view.revisions}"
        self.deadlines.drop(key)
        await self._transition(
            MS.IN_REVIEW,
            "deliverable submitted",
            actor=cmd.actor,
            close_tasks=[f"deliver:{self.view.revisions}", f"escalation:{key}"],
            details={"document_id": str(cmd.document_id), "sha256": cmd.sha256},
        )
        return self.view

    @submit_deliverable.validator
    def _v_submit_deliverable(self, cmd: SubmitDeliverable) -> None:
        self._check(cmd.actor, MS.AWAITING_DELIVERABLE, client=False, doing="submit a deliverable")

    @workflow.update
    @ops_audited
    async def accept_deliverable(self, cmd: AcceptDeliverable) -> MilestoneView:
        self.view.accepted_at = workflow.now()
        closing = [f"review:{self.view.revisions}"]
        await self._transition(MS.INVOICING, "deliverable accepted", actor=cmd.actor, close_tasks=closing)
        return self.view

    @accept_deliverable.validator
    def _v_accept_deliverable(self, cmd: AcceptDeliverable) -> None:
        self._check(cmd.actor, MS.IN_REVIEW, client=True, doing="accept the deliverable")
        self._before_review_end()

    @workflow.update
    @ops_audited
    async def request_revision(self, cmd: RequestRevision) -> MilestoneView:
        closing = [f"review:{self.view.revisions}"]
        self.view.revisions += 1
        d = self.deadlines.add(f"deliverable:{self.view.revisions}", "deliverable", span=self.inp.policy.review)
        await self._transition(
            MS.AWAITING_DELIVERABLE,
            cmd.reason,
            actor=cmd.actor,
            close_tasks=closing,
            open_tasks=[self._deliver_task(d)],
            details={"revision": str(self.view.revisions)},
        )
        return self.view

    @request_revision.validator
    def _v_request_revision(self, cmd: RequestRevision) -> None:
        self._check(cmd.actor, MS.IN_REVIEW, client=True, doing="ask for a revision")
        self._before_review_end()
        limit = self.inp.policy.revision_rounds
        if self.view.revisions >= limit:
            raise ValueError(f"the {limit} revision rounds are used up: accept the deliverable or open a dispute")

    def _before_review_end(self) -> None:
        d = self.deadlines.get(f"review:{self.view.revisions}")
        if d is not None and workflow.now() > d.due:
            raise ValueError(f"the review period closed at {d.due.isoformat()}: the deliverable is accepted")

    @workflow.update
    @ops_audited
    async def confirm_payment(self, cmd: ConfirmPayment) -> MilestoneView:
        self.view.paid_on = cmd.paid_on
        self.view.deadlines.clear()
        reason = f"payment confirmed ({cmd.reference})" if cmd.reference else "payment confirmed"
        await self._transition(MS.PAID, reason, actor=cmd.actor, close_tasks=["*"])
        return self.view

    @confirm_payment.validator
    def _v_confirm_payment(self, cmd: ConfirmPayment) -> None:
        # the client confirms it paid, or the expert that the money arrived
        by_expert = is_expert(cmd.actor, self.inp.expert_id)
        self._check(cmd.actor, MS.AWAITING_PAYMENT, client=not by_expert, doing="confirm the payment")
        if cmd.paid_on > workflow.now().date():
            raise ValueError("the payment date is in the future")

    @workflow.update
    @ops_audited
    async def report_non_payment(self, cmd: ReportNonPayment) -> MilestoneView:
        """The expert says the invoice is still unpaid: the late-payment path opens now if its timer has not run
        (a suspension), and a reminder with the charges owed today goes to the client; ops follow it up."""
        self.view.non_payment_reported_at = workflow.now()
        await self.readmodel.event("non_payment_reported", cmd.reason, actor=cmd.actor)
        await self.billing.reported()
        return self.view

    @report_non_payment.validator
    def _v_report_non_payment(self, cmd: ReportNonPayment) -> None:
        self._check(cmd.actor, MS.AWAITING_PAYMENT, client=False, doing="report a non-payment")
        if self.view.invoice_due is None or workflow.now().date() <= self.view.invoice_due:
            due = self.view.invoice_due.isoformat() if self.view.invoice_due else "its due date"
            raise ValueError(f"the invoice is due on {due}: report a non-payment after that day")

    @workflow.update
    @ops_audited
    async def resume(self, cmd: ResumeMission) -> MilestoneView:
        self._resume_requested = True
        await workflow.wait_condition(lambda: self.view.stage is not MS.NEEDS_ATTENTION)
        return self.view

    @resume.validator
    def _v_resume(self, cmd: ResumeMission) -> None:
        if not is_ops(cmd.actor):
            raise ValueError("only ops may resume a milestone")
        if self.view.stage is not MS.NEEDS_ATTENTION:
            raise ValueError("the milestone is not waiting for a repair")

    @workflow.update
    @ops_audited
    async def extend_deadline(self, cmd: ExtendDeadline) -> MilestoneView:
        """Ops give more time: the delivery, the review or the payment (the tasks that answer it move with it)."""
        await self.deadlines.extend(cmd)
        return self.view

    @extend_deadline.validator
    def _v_extend_deadline(self, cmd: ExtendDeadline) -> None:
        check_extend(self.view, cmd, workflow.now())
