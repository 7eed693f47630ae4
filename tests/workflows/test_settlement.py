"""Cancellation at every stage on the time-skipping server, with the real invoice activities: free before the
contract; after it, the termination clause (accepted work invoiced, work in progress cancelled, unpaid invoices
kept due or cancelled by credit notes: never dropped), by ops or by both parties; with the money documents each
stage must produce (validated like every invoice) and their ledger entries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain.mission import CancelMission
from domain.stages import MilestoneStage, Stage
from tests.workflows import flows
from tests.workflows.conftest import Harness, eventually, terms
from tests.workflows.money import Money
from workflows.client import rejection_reason

pytestmark = pytest.mark.db


async def _refused(h: Harness, cmd: CancelMission) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.update("cancel", cmd)
    return rejection_reason(err.value)


async def _first_invoiced(h: Harness) -> None:
    """Two milestones: the first accepted and invoiced, unpaid; the second in progress."""
    await flows.to_delivery(h, terms("1000.00", "1500.00"))
    await flows.deliver(h, 1)
    await flows.accept(h, 1)
    await h.until(lambda v: v.milestones[0].invoice is not None)


async def test_before_the_contract_binds_cancelling_is_free(money: tuple[Harness, Money]) -> None:
    h, docs = money
    view = await flows.to_contract(h)
    assert view.selected_expert_id is not None
    expert = h.expert(view.selected_expert_id)
    refused = await _refused(h, CancelMission(actor=expert, reason="I changed my mind"))
    assert refused == "only a member of the client organisation may cancel the mission before the contract binds"
    await flows.sign(h, "client")  # one signature binds nobody
    view = await h.update("cancel", CancelMission(actor=h.client_actor, reason="budget frozen"))
    assert view.stage is Stage.CANCELLED and view.cancel_request is None
    assert docs.documents() == [] and docs.ledger() == []


async def test_both_parties_agree_to_cancel_and_keep_the_unpaid_invoice_due(money: tuple[Harness, Money]) -> None:
    h, docs = money
    await _first_invoiced(h)
    view = await h.state()
    assert view.selected_expert_id is not None
    expert = h.expert(view.selected_expert_id)

    view = await h.update("cancel", CancelMission(actor=expert, reason="I move abroad", unpaid_invoices="keep"))
    assert view.stage is Stage.DELIVERY and view.cancel_request is not None and view.cancel_request.by == "expert"
    await eventually(lambda: "agree_cancellation" in [t.action for t in h.open_tasks("client")])
    again = await _refused(h, CancelMission(actor=expert, reason="please", unpaid_invoices="keep"))
    assert again.startswith("you asked to cancel already")
    other = await _refused(h, CancelMission(actor=h.client_actor, reason="fine", unpaid_invoices="credit"))
    assert other.startswith("unpaid_invoices: the expert proposed 'keep'")

    view = await h.update("cancel", CancelMission(actor=h.client_actor, reason="agreed", unpaid_invoices="keep"))
    assert view.stage is Stage.CANCELLED and view.closed_reason == "cancelled by agreement: I move abroad"
    assert (await h.milestone_state(2)).stage is MilestoneStage.CANCELLED  # the work in progress stops
    first = await h.milestone_state(1)
    assert first.stage is MilestoneStage.AWAITING_PAYMENT  # the accepted work stays invoiced and due
    await eventually(lambda: [t.action for t in h.open_tasks("client")] == ["confirm_payment"])
    assert any(e.kind == "invoices_kept_due" for e in h.timeline())

    await flows.pay(h, 1)
    result = await h.handle.result()  # the mission ends once the invoice kept due is paid
    assert result.stage is Stage.CANCELLED and result.milestones[0].stage is MilestoneStage.PAID
    [invoice] = docs.documents()
    assert docs.valid(invoice).total_net == Decimal("1000.00")
    assert docs.ledger() == [("mission_invoice_issued", Decimal("1000.00"), f"invoice:{invoice.number}")]


async def test_ops_cancel_after_the_contract_and_credit_the_unpaid_invoice(money: tuple[Harness, Money]) -> None:
    h, docs = money
    await _first_invoiced(h)
    view = await h.update(
        "cancel", CancelMission(actor=h.ops, reason="the client is insolvent", unpaid_invoices="credit")
    )
    assert view.stage is Stage.CANCELLED
    result = await h.handle.result()
    assert [m.stage for m in result.milestones] == [MilestoneStage.CANCELLED, MilestoneStage.CANCELLED]
    assert result.milestones[0].credit_note is not None
    assert [d.kind for d in result.documents] == ["contract", "mission_invoice", "credit_note"]
    invoice, credit = docs.documents()
    note = docs.valid(credit)
    assert docs.valid(invoice).grand_total == note.grand_total and note.type_code == "381"
    assert note.preceding_invoice is not None and note.preceding_invoice.number == invoice.number
    assert [kind for kind, _, _ in docs.ledger()] == ["mission_invoice_issued", "credit_note_issued"]
    await eventually(lambda: h.open_tasks() == [])


async def test_cancelling_by_agreement_during_delivery_before_any_invoice(money: tuple[Harness, Money]) -> None:
    h, docs = money
    view = await flows.to_delivery(h, terms("1000.00"))
    assert view.selected_expert_id is not None
    await h.update("cancel", CancelMission(actor=h.client_actor, reason="the project is stopped"))
    await eventually(lambda: [t.action for t in h.open_tasks("expert")][-1:] == ["agree_cancellation"])
    view = await h.update("cancel", CancelMission(actor=h.expert(view.selected_expert_id), reason="agreed"))
    assert view.stage is Stage.CANCELLED
    assert (await h.milestone_state(1)).stage is MilestoneStage.CANCELLED
    assert docs.documents() == []  # nothing was accepted: nothing to invoice, nothing to credit
    await eventually(lambda: h.open_tasks() == [])
