"""MilestoneWorkflow (id `mission:{id}:milestone:{n}`): a child of MissionWorkflow, one per milestone.

The expert submits a deliverable (document id + SHA-256; the bytes stay in the document store); the client
accepts or asks for a revision (bounded rounds); silence past the review period accepts. Acceptance issues the
expert's invoice to the client (documents activity `issue_mission_invoice`, idempotent on the milestone id),
then payment is tracked: reminder before the due date, late-payment notice and an ops task after it, follow-up
reminders, until the client confirms the payment.

Updates for a milestone go to this child directly (its id is derived from the mission id and the number);
the parent holds the child (signal `hold`) while the mission is paused or disputed, and the child tells the
parent (signal `milestone_changed`) what the parent waits for: its acceptance and its end. A reader of the mission's
state gets each running milestone's live state from the milestone itself (workflows.client.mission_state).
Changing this code: see "Changing a workflow" in the README (the replay gate).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from contextlib import suppress
from datetime import UTC, datetime, time, timedelta

from temporalio import workflow

from workflows._lifecycle import Lifecycle, ops_audited

with workflow.unsafe.imports_passed_through():
    from activities.contracts import IssuedInvoice, MissionInvoiceRequest
    from activities.projection import MilestoneRow, MissionRow
    from domain.actors import Actor, Role
    from domain.mission import (
        AcceptDeliverable,
        ConfirmPayment,
        Deadline,
        MilestoneHold,
        MilestoneView,
        PendingAction,
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
# A milestone signals its mission only when its acceptance or its end changes (2 signals in a normal life instead
# of one per event, 6): each signal costs the mission a workflow task and the server a transfer task.


class IllegalMilestoneMove(RuntimeError):
    """A bug: fails the workflow task (retried) rather than the milestone."""


async def _quietly(signal: Awaitable[None]) -> None:
    with suppress(Exception):  # the mission may have closed already (cancellation)
        await signal


def _end_of(day: datetime | None, fallback: datetime) -> datetime:
    return day if day is not None and day > fallback else fallback


@workflow.defn(name="MilestoneWorkflow")
class MilestoneWorkflow(Lifecycle):
    @workflow.init
    def __init__(self, inp: StartMilestone) -> None:
        self.inp = inp
        self._workflow_id = workflow.info().workflow_id
        self._mission_id = inp.mission_id
        self._seq = 0
        self._resume_requested = False
        self._search_attributes = inp.search_attributes
        self._upserted = {}
        self._suspended_at: datetime | None = None
        self._writes = asyncio.Lock()
        self._told = (False, False)  # (accepted, final) as the mission last heard
        self._signals: list[asyncio.Task[None]] = []
        self._started = False  # `milestone_started` is queued: the first event (seq 1) is the milestone's start
        self.view = MilestoneView(
            workflow_id=self._workflow_id,
            mission_id=inp.mission_id,
            number=inp.number,
            title=inp.plan.title,
            amount=Money(amount=inp.plan.amount, currency=inp.currency),
            due_date=inp.plan.due_date,
            stage=MS.AWAITING_DELIVERABLE,
            client_org_id=inp.client_org_id,
            expert_id=inp.expert_id,
        )

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
        return self.view

    async def _lifecycle(self) -> None:
        policy = self.inp.policy
        due = _end_of(
            datetime.combine(self.inp.plan.due_date, time(23, 59, 59), tzinfo=UTC), workflow.now() + timedelta(days=1)
        )
        span = due - workflow.now()
        d = self._add_deadline("deliverable:0", "deliverable", span, policy.reminder_for(span), due)
        await self._project("milestone_started", self.inp.plan.title, open_tasks=[self._deliver_task(d)])
        self._started = True
        while True:
            await self._await(lambda: self.view.stage is MS.IN_REVIEW)
            span = policy.review
            r = self._add_deadline(f"review:{self.view.revisions}", "review", span, policy.reminder_for(span))
            await self._project(
                "review_opened",
                "deliverable to review",
                open_tasks=[
                    PendingAction(
                        key=f"review:{self.view.revisions}",
                        role=Role.CLIENT,
                        party_id=self.inp.client_org_id,
                        action="review_deliverable",
                        title=f"Review the deliverable of '{self.inp.plan.title}'",
                        due=r.due,
                        deadline=r.key,
                    )
                ],
            )
            await self._await(lambda: self.view.stage is not MS.IN_REVIEW)
            self._drop_deadline(r.key)
            if self.view.stage is MS.INVOICING:
                break
        await self._invoice()
        await self._await(lambda: self.view.stage is MS.PAID)

    async def _invoice(self) -> None:
        accepted = self.view.accepted_at or workflow.now()
        invoice = await self._call(
            "mission invoice",
            "issue_mission_invoice",
            MissionInvoiceRequest(
                mission_id=self.inp.mission_id,
                milestone_id=self._workflow_id,
                contract_id=self.inp.contract_id,
                expert_id=self.inp.expert_id,
                client_org_id=self.inp.client_org_id,
                description=f"{self.inp.mission_title} — {self.inp.plan.title}",
                amount=self.view.amount,
                service_date=accepted.date(),
                issue_date=workflow.now().date(),
                due_days=self.inp.policy.invoice_due_days,
                language=self.inp.language,
            ),
            IssuedInvoice,
            self.inp.documents_task_queue,
        )
        self.view.invoice = invoice
        self.view.invoice_due = invoice.due_date
        due = _end_of(datetime.combine(invoice.due_date, time(23, 59, 59), tzinfo=UTC), workflow.now())
        span = due - workflow.now()
        d = self._add_deadline("payment", "payment", span, self.inp.policy.reminder_for(span), due)
        await self._advance(
            MS.AWAITING_PAYMENT,
            f"invoice {invoice.number} issued",
            open_tasks=[
                PendingAction(
                    key="payment",
                    role=Role.CLIENT,
                    party_id=self.inp.client_org_id,
                    action="confirm_payment",
                    title=f"Pay invoice {invoice.number} and confirm the payment",
                    due=d.due,
                    deadline=d.key,
                )
            ],
            details={"invoice": invoice.number or "", "sha256": invoice.sha256},
        )
        await self._notify(
            "invoice_issued", "client", self.inp.client_org_id, "invoice_issued", {"number": invoice.number or ""}
        )
        await self._notify(
            "invoice_issued:expert", "expert", self.inp.expert_id, "invoice_issued", {"number": invoice.number or ""}
        )

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

    # --- transitions -------------------------------------------------------------------------------

    async def _transition(
        self,
        to: MilestoneStage,
        reason: str,
        *,
        actor: Actor | None = None,
        open_tasks: list[PendingAction] | None = None,
        close_tasks: list[str] | None = None,
        details: dict[str, str] | None = None,
    ) -> None:
        """The one door: check the move, change the stage, project, upsert, tell the parent mission."""
        frm = self.view.stage
        if not can_move_milestone(frm, to):
            raise IllegalMilestoneMove(f"{frm} -> {to} not allowed")
        if to is MS.NEEDS_ATTENTION:
            self._resume_stage = frm
        self.view.stage = to
        self._sync_suspension()
        await self._project(
            f"milestone:{to.value}",
            reason,
            actor=actor,
            open_tasks=open_tasks,
            close_tasks=close_tasks,
            details={"from": frm.value, "milestone": str(self.inp.number), **(details or {})},
        )
        self._tell_parent()

    def _tell_parent(self) -> None:
        """The mission's copy of this milestone follows what the mission waits for: its acceptance and its end. The
        signal leaves with this workflow task; nothing waits for the mission to receive it but the end of the run."""
        parent = workflow.info().parent
        told = (self.view.stage in ACCEPTED, self.view.stage in FINAL)
        if parent is None or told == self._told:
            return
        self._told = told
        signal = workflow.get_external_workflow_handle(parent.workflow_id).signal("milestone_changed", self.view)
        self._signals.append(asyncio.create_task(_quietly(signal)))

    async def _advance(self, to: MilestoneStage, reason: str, **kwargs: object) -> None:
        await workflow.wait_condition(lambda: not self._suspended())
        await self._transition(to, reason, **kwargs)  # type: ignore[arg-type]

    # --- Lifecycle hooks ---------------------------------------------------------------------------------

    def _deadlines(self) -> list[Deadline]:
        return self.view.deadlines

    def _pending(self) -> list[PendingAction]:
        return self.view.pending_actions

    def _suspended(self) -> bool:
        return self.view.held or self.view.stage is MS.NEEDS_ATTENTION

    def _stage_name(self) -> str:
        return self.view.stage.value

    def _rows(self) -> tuple[MissionRow | None, MilestoneRow | None]:
        v = self.view
        row = MilestoneRow(
            mission_id=v.mission_id,
            number=v.number,
            title=v.title,
            amount=v.amount.amount,
            currency=v.amount.currency,
            stage=v.stage.value,
            invoice_number=v.invoice.number if v.invoice else None,
            invoice_due=v.invoice_due,
            paid_on=v.paid_on,
        )
        return None, row

    def _audit_target(self) -> str:
        return f"mission:{self._mission_id}:milestone:{self.inp.number}"

    def _search_values(self) -> dict[str, object]:
        return {
            "MissionStage": f"milestone:{self.view.stage.value}",
            "ClientOrg": str(self.inp.client_org_id),
            "ExpertIds": [str(self.inp.expert_id)],
            "NextDeadline": self._next_deadline(),
        }

    async def _on_expired(self, deadline: Deadline) -> None:
        policy = self.inp.policy
        if deadline.kind == "review":
            self.view.accepted_at = workflow.now()
            self.view.accepted_automatically = True
            await self._transition(
                MS.INVOICING, "accepted automatically: review period passed", close_tasks=[deadline.key]
            )
            await self._notify(
                f"auto_accepted:{deadline.key}", "client", self.inp.client_org_id, "deliverable_auto_accepted"
            )
        elif deadline.kind == "payment":
            params = {"invoice": (self.view.invoice.number or "") if self.view.invoice else ""}
            await self._notify("late_payment_notice", "client", self.inp.client_org_id, "late_payment_notice", params)
            await self._notify(
                "late_payment_notice:expert", "expert", self.inp.expert_id, "late_payment_notice", params
            )
            await self._escalate(deadline)
            self._follow_up(1)
        elif deadline.kind == "payment_followup":
            n = int(deadline.key.rsplit(":", 1)[1])
            params = {"invoice": (self.view.invoice.number or "") if self.view.invoice else "", "reminder": str(n)}
            await self._notify(f"overdue_reminder:{n}", "client", self.inp.client_org_id, "overdue_reminder", params)
            self._drop_deadline(deadline.key)
            if n < policy.late_payment_reminders:
                self._follow_up(n + 1)
        else:
            await self._escalate(deadline)

    def _follow_up(self, n: int) -> None:
        if n <= self.inp.policy.late_payment_reminders:
            span = self.inp.policy.late_payment_every
            self._add_deadline(f"payment_followup:{n}", "payment_followup", span, timedelta(0))

    async def _enter_attention(self, reason: str) -> None:
        self.view.attention_reason = reason
        task = PendingAction(key="attention", role=Role.OPS, party_id=None, action="repair", title=reason[:300])
        await self._transition(MS.NEEDS_ATTENTION, reason, open_tasks=[task])

    async def _leave_attention(self) -> None:
        self.view.attention_reason = None
        await self._transition(self._resume_stage, "resumed by ops", close_tasks=["attention"])

    # --- queries, signals, updates -------------------------------------------------------------------------

    @workflow.query
    def state(self) -> MilestoneView:
        return self.view

    @workflow.signal
    def hold(self, hold: MilestoneHold) -> None:
        self.view.held = hold.held
        self._sync_suspension()

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
        if not self._started:
            # A worker killed after the start's read-model write (a local activity) but before its workflow task
            # completed: the retried task carries the start and this update, and the SDK runs update handlers
            # first. Recording the submission first would give it seq 1, which the read model already holds
            # (the start, seen: skipped), and the start seq 2 (tests/faults found a timeline without the review).
            await workflow.wait_condition(lambda: self._started)
        self.view.deliverable_document_id = cmd.document_id
        self.view.deliverable_sha256 = cmd.sha256
        key = f"deliverable:{self.view.revisions}"
        self._drop_deadline(key)
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
        await self._transition(
            MS.INVOICING, "deliverable accepted", actor=cmd.actor, close_tasks=[f"review:{self.view.revisions}"]
        )
        return self.view

    @accept_deliverable.validator
    def _v_accept_deliverable(self, cmd: AcceptDeliverable) -> None:
        self._check(cmd.actor, MS.IN_REVIEW, client=True, doing="accept the deliverable")
        self._before_review_end()

    @workflow.update
    @ops_audited
    async def request_revision(self, cmd: RequestRevision) -> MilestoneView:
        closing = f"review:{self.view.revisions}"
        self.view.revisions += 1
        span = self.inp.policy.review
        d = self._add_deadline(
            f"deliverable:{self.view.revisions}", "deliverable", span, self.inp.policy.reminder_for(span)
        )
        await self._transition(
            MS.AWAITING_DELIVERABLE,
            cmd.reason,
            actor=cmd.actor,
            close_tasks=[closing],
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
        d = self._deadline(f"review:{self.view.revisions}")
        if d is not None and workflow.now() > d.due:
            raise ValueError(f"the review period closed at {d.due.isoformat()}: the deliverable is accepted")

    @workflow.update
    @ops_audited
    async def confirm_payment(self, cmd: ConfirmPayment) -> MilestoneView:
        self.view.paid_on = cmd.paid_on
        self.view.deadlines.clear()
        await self._transition(
            MS.PAID,
            f"payment confirmed ({cmd.reference})" if cmd.reference else "payment confirmed",
            actor=cmd.actor,
            close_tasks=["*"],
        )
        return self.view

    @confirm_payment.validator
    def _v_confirm_payment(self, cmd: ConfirmPayment) -> None:
        self._check(cmd.actor, MS.AWAITING_PAYMENT, client=True, doing="confirm the payment")
        if cmd.paid_on > workflow.now().date():
            raise ValueError("the payment date is in the future")

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
