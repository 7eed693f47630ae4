"""`Billing`: what a milestone's money does, held by MilestoneWorkflow (workflows/milestone.py) beside its deadlines.
Once the milestone is accepted, the expert's invoice is issued to the client (idempotent on the milestone id) with
a payment task and its deadline; past the due date a reminder document (interest and the 40 EUR recovery
indemnity owed that day) goes with the late-payment notice, then follow-up reminders; a dispute's partial
acceptance after the invoice cancels it by a credit note before a new invoice (a correction is never an edit).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from temporalio import workflow

from workflows.capabilities import call
from workflows.deadlines import Deadlines
from workflows.readmodel import ReadModel

with workflow.unsafe.imports_passed_through():
    from activities.invoices import InvoiceActivities
    from domain.actors import Role
    from domain.documents import CreditNoteRequest, IssuedDocument, MissionInvoiceRequest, PaymentReminderRequest
    from domain.mission import Deadline, MilestoneSettlement, MilestoneView, PendingAction, StartMilestone
    from domain.stages import MilestoneStage

MS = MilestoneStage
Move = Callable[..., Awaitable[None]]  # the milestone's door (transition) or its wait-then-door (advance)


def end_of(day: datetime | None, fallback: datetime) -> datetime:
    """A deadline at `day`, or at `fallback` when that comes later (a day already past)."""
    return day if day is not None and day > fallback else fallback


def client_task(inp: StartMilestone, key: str, action: str, title: str, d: Deadline) -> PendingAction:
    return PendingAction(
        key=key, role=Role.CLIENT, party_id=inp.client_org_id, action=action, title=title, due=d.due, deadline=d.key
    )


class Billing:
    def __init__(
        self,
        inp: StartMilestone,
        view: MilestoneView,
        readmodel: ReadModel,
        deadlines: Deadlines,
        *,
        advance: Move,
        transition: Move,
        repair: Callable[[str], Awaitable[None]],
    ) -> None:
        self._inp = inp
        self._view = view
        self._readmodel = readmodel
        self._deadlines = deadlines
        self._advance = advance
        self._transition = transition
        self._repair = repair

    async def invoice(self) -> None:
        inp, view = self._inp, self._view
        accepted = view.accepted_at or workflow.now()
        request = MissionInvoiceRequest(
            mission_id=inp.mission_id,
            # the idempotency key: a corrected milestone's new invoice is another invoice than the one credited
            milestone_id=view.workflow_id + (":corrected" if view.credit_note else ""),
            contract_id=inp.contract_id,
            expert_id=inp.expert_id,
            client_org_id=inp.client_org_id,
            description=f"{inp.mission_title} — {inp.plan.title}" + (" (partial acceptance)" if view.partial else ""),
            amount=view.amount,
            service_date=accepted.date(),
            issue_date=workflow.now().date(),
            due_days=inp.policy.invoice_due_days,
            language=inp.language,
        )
        queue = inp.documents_task_queue
        invoice = await call("mission invoice", InvoiceActivities.issue_mission_invoice, request, task_queue=queue,
                             repair=self._repair)  # fmt: skip
        view.invoice, view.invoice_due = invoice, invoice.due_date
        due = end_of(datetime.combine(invoice.due_date, time(23, 59, 59), tzinfo=UTC), workflow.now())
        d = self._deadlines.add("payment", "payment", due=due)
        pay = client_task(inp, "payment", "confirm_payment", f"Pay invoice {invoice.number} and confirm the payment", d)
        details = {"invoice": invoice.number or "", "sha256": invoice.sha256}
        await self._advance(MS.AWAITING_PAYMENT, f"invoice {invoice.number} issued", open_tasks=[pay], details=details)
        number = {"number": invoice.number or ""}
        await self._readmodel.notify("invoice_issued", "client", inp.client_org_id, "invoice_issued", number)
        await self._readmodel.notify("invoice_issued:expert", "expert", inp.expert_id, "invoice_issued", number)

    async def late(self, deadline: Deadline) -> None:
        """The payment's deadline (kind `payment`) or a follow-up's (`payment_followup`) passed unpaid."""
        client, expert = self._inp.client_org_id, self._inp.expert_id
        number = (self._view.invoice.number or "") if self._view.invoice else ""
        reminder = await self._reminder()
        if deadline.kind == "payment":
            params = {"invoice": number, "document": reminder.number or ""}
            await self._readmodel.notify("late_payment_notice", "client", client, "late_payment_notice", params)
            await self._readmodel.notify("late_payment_notice:expert", "expert", expert, "late_payment_notice", params)
            await self._deadlines.escalate(deadline)
            self._follow_up(1)
            return
        n = int(deadline.key.rsplit(":", 1)[1])
        params = {"invoice": number, "reminder": str(n), "document": reminder.number or ""}
        await self._readmodel.notify(f"overdue_reminder:{n}", "client", client, "overdue_reminder", params)
        self._deadlines.drop(deadline.key)
        self._follow_up(n + 1)

    async def reported(self) -> None:
        """The expert reported the invoice unpaid: the late-payment path opens now if its timer has not run (a
        suspension held it), else one more reminder goes to the client."""
        d = self._deadlines.get("payment")
        if d is not None and not d.expired:
            d.expired = True
            await self.late(d)
            return
        reminder = await self._reminder()
        number = self._view.invoice.number if self._view.invoice else ""
        params = {"invoice": number or "", "document": reminder.number or ""}
        key = f"overdue_reminder:reported:{len(self._view.reminders)}"
        await self._readmodel.notify(key, "client", self._inp.client_org_id, "overdue_reminder", params)

    async def _reminder(self) -> IssuedDocument:
        """The next reminder document of the unpaid invoice: the amount due, the late-payment interest and the 40 EUR
        recovery indemnity owed today (documents/templates/reminder.html)."""
        view = self._view
        invoice = view.invoice
        assert invoice is not None and invoice.number is not None
        # the payment timer runs to the due day's last second: the first reminder is dated the first day late
        first_late = (view.invoice_due or workflow.now().date()) + timedelta(days=1)
        issued = max(workflow.now().date(), first_late)
        request = PaymentReminderRequest(invoice_number=invoice.number, reminder=len(view.reminders) + 1,
                                         issue_date=issued)  # fmt: skip
        queue = self._inp.documents_task_queue
        reminder = await call("payment reminder", InvoiceActivities.issue_payment_reminder, request, task_queue=queue,
                              repair=self._repair)  # fmt: skip
        view.reminders.append(reminder)
        details = {"invoice": invoice.number, "document": reminder.number or "", "sha256": reminder.sha256}
        await self._readmodel.event("payment_reminder_issued", f"reminder {reminder.number}", details=details)
        return reminder

    def _follow_up(self, n: int) -> None:
        if n <= self._inp.policy.late_payment_reminders:
            span = self._inp.policy.late_payment_every
            self._deadlines.add(f"payment_followup:{n}", "payment_followup", span=span, remind=False)

    async def correct(self, settlement: MilestoneSettlement) -> None:
        """Accepted in part after its invoice: the invoice is cancelled by a credit note, and a new invoice of the
        accepted amount follows (a correction is a credit note plus a new invoice, never an edit: MONEY.md)."""
        view, inp = self._view, self._inp
        invoice = view.invoice
        assert invoice is not None and invoice.number is not None and settlement.amount is not None
        request = CreditNoteRequest(
            invoice_number=invoice.number,
            idempotency_key=f"credit:{invoice.number}",
            reason=settlement.reason[:300],
            issue_date=workflow.now().date(),
        )
        queue = inp.documents_task_queue
        note = await call("credit note", InvoiceActivities.issue_credit_note, request, task_queue=queue,
                          repair=self._repair)  # fmt: skip
        view.credit_note = note
        view.amount, view.partial = settlement.amount, True
        for d in [d for d in view.deadlines if d.kind in ("payment", "payment_followup")]:
            self._deadlines.drop(d.key)
        details: dict[str, Any] = {
            "invoice": invoice.number, "credit_note": note.number or "", "amount": str(settlement.amount.amount)
        }  # fmt: skip
        reason = (
            f"invoice {invoice.number} cancelled by credit note {note.number}: accepted in part ({settlement.reason})"
        )
        await self._transition(MS.INVOICING, reason, close_tasks=["payment", "escalation:payment"], details=details)
        params = {"number": note.number or "", "invoice": invoice.number}
        await self._readmodel.notify("credit_note", "client", inp.client_org_id, "credit_note_issued", params)
        await self._readmodel.notify("credit_note:expert", "expert", inp.expert_id, "credit_note_issued", params)
