"""Payment both ways on the time-skipping server, with the real invoice activities: the expert may confirm the money
arrived; past the due date the client gets a reminder document with the late-payment interest and the statutory
40 EUR recovery indemnity owed that day; the expert reports the non-payment (after the due date only), which issues
another reminder, and may then open a dispute."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError

from documents.rendering import money as formatted
from domain.dispute import AnswerDispute, DecideDispute
from domain.invoice import Invoice
from domain.late_payment import late_charges
from domain.mission import ConfirmPayment, OpenDispute, ReportNonPayment
from domain.stages import MilestoneStage, Stage
from store.models.legal import InvoiceRecord
from tests.workflows import flows
from tests.workflows.conftest import Harness, eventually, terms
from tests.workflows.money import Money
from workflows.client import rejection_reason

pytestmark = pytest.mark.db


def _text(pdf: bytes) -> str:
    executable = shutil.which("pdftotext")
    assert executable, "pdftotext missing: apt-get install poppler-utils"
    out = subprocess.run([executable, "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    return " ".join(out.decode().split())


async def _invoiced(h: Harness) -> tuple[object, Invoice]:
    view = await flows.to_delivery(h, terms("1000.00"))
    await flows.deliver(h, 1)
    await flows.accept(h, 1)
    m = await h.until_milestone(1, lambda m: m.stage is MilestoneStage.AWAITING_PAYMENT)
    with h.sessions() as s:
        record = s.scalars(select(InvoiceRecord).where(InvoiceRecord.mission_id == h.mission_id)).one()
        invoice = Invoice.model_validate(record.snapshot)
    assert m.invoice is not None and m.invoice.number == invoice.number
    return view, invoice


async def test_the_expert_confirms_the_money_arrived(money: tuple[Harness, Money]) -> None:
    h, _docs = money
    view, invoice = await _invoiced(h)
    expert = h.expert(view.selected_expert_id)  # type: ignore[attr-defined]
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.update_milestone(1, "confirm_payment", ConfirmPayment(actor=h.outsider, paid_on=invoice.issue_date))
    assert rejection_reason(err.value) == "only a member of the client organisation may confirm the payment"
    m = await h.update_milestone(1, "confirm_payment", ConfirmPayment(actor=expert, paid_on=invoice.issue_date,
                                                                       reference="received"))  # fmt: skip
    assert m.stage is MilestoneStage.PAID and m.paid_on == invoice.issue_date


async def test_late_payment_reminders_carry_the_charges_and_the_expert_reports_then_disputes(
    money: tuple[Harness, Money],
) -> None:
    h, docs = money
    view, invoice = await _invoiced(h)
    expert = h.expert(view.selected_expert_id)  # type: ignore[attr-defined]
    early = ReportNonPayment(actor=expert, reason="nothing received")
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.update_milestone(1, "report_non_payment", early)
    assert (
        rejection_reason(err.value) == f"the invoice is due on {invoice.due_date}: report a non-payment after that day"
    )

    await h.skip(timedelta(days=view.policy.invoice_due_days + 2))  # type: ignore[attr-defined]
    m = await h.until_milestone(1, lambda m: len(m.reminders) == 1)
    await eventually(lambda: {n.role for n in h.notifications("late_payment_notice")} == {"client", "expert"})
    first = m.reminders[0]
    assert first.kind == "payment_reminder" and first.number == f"{invoice.number}-R1"
    pdf = docs.store.get(first.sha256)
    text = _text(pdf)
    charges = late_charges(invoice, invoice.due_date + timedelta(days=1))  # dated the first day late
    assert charges.days_late >= 1 and charges.interest > 0 and charges.indemnity == Decimal("40.00")
    for expected in (invoice.number, formatted(charges.interest, "EUR", invoice.language),
                     formatted(Decimal("40.00"), "EUR", invoice.language),
                     formatted(charges.total_due, "EUR", invoice.language)):  # fmt: skip
        assert " ".join(expected.split()) in text, expected

    m = await h.update_milestone(1, "report_non_payment", ReportNonPayment(actor=expert, reason="still nothing"))
    assert m.non_payment_reported_at is not None and [r.number for r in m.reminders] == [
        f"{invoice.number}-R1",
        f"{invoice.number}-R2",
    ]
    await eventually(lambda: any(e.kind == "non_payment_reported" for e in h.timeline()))
    await eventually(lambda: any(n.params.get("document") == f"{invoice.number}-R2"
                                 for n in h.notifications("overdue_reminder")))  # fmt: skip

    opened = OpenDispute(actor=expert, reason="the client does not pay", milestone=1)
    await h.update("open_dispute", opened)
    await h.update_dispute(1, "answer_dispute", AnswerDispute(actor=h.client_actor, statement="we cannot pay"))
    await h.update_dispute(1, "decide_dispute", DecideDispute(actor=h.ops, outcome="end", reason="written off"))
    result = await h.handle.result()
    assert result.stage is Stage.CANCELLED and result.milestones[0].credit_note is not None
    _invoice, credit = docs.documents()
    assert docs.valid(credit).type_code == "381"
