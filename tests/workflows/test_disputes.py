"""Every dispute path on the time-skipping server, with the real invoice activities: who may open and answer, the
answer deadline, and each decision with its money documents (validated like every invoice) and ledger entries."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain.dispute import AnswerDispute, DecideDispute, DisputeStage
from domain.mission import Evidence, OpenDispute
from domain.stages import MilestoneStage, Stage
from tests.workflows import flows
from tests.workflows.conftest import Harness, eventually, terms
from tests.workflows.fakes import sha
from tests.workflows.money import Money
from workflows.client import rejection_reason

pytestmark = pytest.mark.db
EVIDENCE = [Evidence(document_id=uuid.uuid4(), sha256=sha("minutes of the kick-off"))]


async def _refused(call: object) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await call  # type: ignore[misc]
    return rejection_reason(err.value)


async def _in_review(h: Harness, *amounts: str) -> uuid.UUID:
    view = await flows.to_delivery(h, terms(*amounts))
    await flows.deliver(h, 1)
    await h.until_milestone(1, lambda m: m.stage is MilestoneStage.IN_REVIEW)
    assert view.selected_expert_id is not None
    return view.selected_expert_id


async def test_expert_disputes_a_milestone_and_ops_accept_it_in_part(money: tuple[Harness, Money]) -> None:
    h, docs = money
    expert_id = await _in_review(h, "1000.00")
    opened = OpenDispute(actor=h.expert(expert_id), reason="the client asks for work outside the scope",
                         milestone=1, evidence=EVIDENCE)  # fmt: skip
    view = await h.update("open_dispute", opened)
    assert view.stage is Stage.DISPUTED and view.disputes == 1
    await h.until_milestone(1, lambda m: m.held)
    d = await h.until_dispute(1, lambda d: any(a.key == "answer" for a in d.pending_actions))
    assert d.opened.party == "expert" and d.opened.evidence == EVIDENCE and d.answering == "client"
    await eventually(lambda: "answer_dispute" in [t.action for t in h.open_tasks("client")])
    assert {n.role for n in h.notifications("dispute_opened")} == {"client", "expert"}

    expert = h.expert(expert_id)
    refused = await _refused(h.update_dispute(1, "answer_dispute", AnswerDispute(actor=expert, statement="me again")))
    assert refused == "only a member of the client organisation may answer this dispute"
    early = DecideDispute(actor=h.ops, outcome="continue", reason="too early")
    assert "ops decide once it is in mediation" in await _refused(h.update_dispute(1, "decide_dispute", early))

    answer = AnswerDispute(actor=h.client_actor, statement="half of it was in scope", evidence=EVIDENCE)
    d = await h.update_dispute(1, "answer_dispute", answer)
    assert d.stage is DisputeStage.MEDIATION and d.answer is not None and d.answer.party == "client"

    too_much = DecideDispute(actor=h.ops, outcome="partial", reason="half", amount=Decimal("1000.01"))
    assert "more than the milestone's 1000.00" in await _refused(h.update_dispute(1, "decide_dispute", too_much))
    no_amount = DecideDispute(actor=h.ops, outcome="partial", reason="half")
    assert (await _refused(h.update_dispute(1, "decide_dispute", no_amount))).startswith("amount:")
    client_decides = DecideDispute(actor=h.client_actor, outcome="continue", reason="mine")
    assert await _refused(h.update_dispute(1, "decide_dispute", client_decides)) == "only ops may decide a dispute"

    decide = DecideDispute(actor=h.ops, outcome="partial", reason="half of the work was in scope",
                           amount=Decimal("600.00"))  # fmt: skip
    d = await h.update_dispute(1, "decide_dispute", decide)
    assert d.stage is DisputeStage.DECIDED and d.decision is not None and d.decision.amount == Decimal("600.00")

    m = await h.until_milestone(1, lambda m: m.stage is MilestoneStage.AWAITING_PAYMENT)
    assert m.partial and m.amount.amount == Decimal("600.00") and not m.held
    view = await h.until(lambda v: v.stage is Stage.FEEDBACK)  # the only milestone is accepted: feedback
    [invoice] = docs.documents()
    partial = docs.valid(invoice)
    assert partial.type_code == "380" and partial.total_net == Decimal("600.00")
    assert "(partial acceptance)" in partial.lines[0].description
    assert docs.ledger() == [("mission_invoice_issued", Decimal("600.00"), f"invoice:{invoice.number}")]
    assert {n.role for n in h.notifications("dispute_decided")} == {"client", "expert"}
    await eventually(lambda: [t.action for t in h.open_tasks("ops")] == [])


async def test_unanswered_dispute_goes_to_mediation_and_ops_continue(money: tuple[Harness, Money]) -> None:
    h, docs = money
    expert_id = await _in_review(h, "1000.00")
    view = await h.update("open_dispute", OpenDispute(actor=h.client_actor, reason="the report is late"))
    outsider = OpenDispute(actor=h.outsider, reason="not mine")
    assert "only the client or the selected expert" in await _refused(h.update("open_dispute", outsider))
    again = OpenDispute(actor=h.expert(expert_id), reason="me too")
    assert "dispute 1 is open already" in await _refused(h.update("open_dispute", again))
    d = await h.until_dispute(1, lambda d: bool(d.deadlines))
    span = d.deadlines[0].due - d.opened.at  # the child starts a moment (of workflow time) after the statement
    assert view.policy.dispute_answer <= span < view.policy.dispute_answer + timedelta(minutes=1)

    await h.skip(view.policy.dispute_answer + timedelta(hours=1))
    d = await h.until_dispute(1, lambda d: d.stage is DisputeStage.MEDIATION)
    assert d.answer is None
    await eventually(lambda: {n.role for n in h.notifications("dispute_unanswered")} == {"client", "expert"})
    assert any(n.kind == "reminder" and n.role == "expert" for n in h.notifications())
    late = AnswerDispute(actor=h.expert(expert_id), statement="sorry, I was away")
    assert "the time to answer is over" in await _refused(h.update_dispute(1, "answer_dispute", late))
    whole = DecideDispute(actor=h.ops, outcome="partial", reason="some", amount=Decimal("1"))
    assert "about the whole mission" in await _refused(h.update_dispute(1, "decide_dispute", whole))

    await h.update_dispute(1, "decide_dispute", DecideDispute(actor=h.ops, outcome="continue", reason="carry on"))
    view = await h.until(lambda v: v.stage is Stage.DELIVERY and v.dispute_reason is None)
    await h.until_milestone(1, lambda m: not m.held)
    await flows.accept(h, 1)
    await h.until_milestone(1, lambda m: m.stage is MilestoneStage.AWAITING_PAYMENT)
    [invoice] = docs.documents()
    assert docs.valid(invoice).total_net == Decimal("1000.00")  # the full amount: the dispute changed nothing


async def test_ops_have_a_milestone_redone_by_a_new_deadline(money: tuple[Harness, Money]) -> None:
    h, docs = money
    expert_id = await _in_review(h, "1000.00")
    await h.update("open_dispute", OpenDispute(actor=h.client_actor, reason="the deliverable is empty", milestone=1))
    await h.update_dispute(1, "answer_dispute", AnswerDispute(actor=h.expert(expert_id), statement="I can redo it"))
    now = (await h.until_dispute(1, lambda d: d.stage is DisputeStage.MEDIATION)).opened.at
    past = DecideDispute(actor=h.ops, outcome="redo", reason="redo", new_due=now - timedelta(days=1))
    assert (await _refused(h.update_dispute(1, "decide_dispute", past))).startswith("new_due:")
    new_due = now + timedelta(days=30)
    await h.update_dispute(1, "decide_dispute", DecideDispute(actor=h.ops, outcome="redo", reason="redo it",
                                                               new_due=new_due))  # fmt: skip
    m = await h.until_milestone(1, lambda m: m.stage is MilestoneStage.AWAITING_DELIVERABLE and not m.held)
    assert m.revisions == 1 and [(d.kind, d.due) for d in m.deadlines] == [("deliverable", new_due)]
    await eventually(lambda: [t.action for t in h.open_tasks("expert")] == ["submit_deliverable"])
    await h.until(lambda v: v.stage is Stage.DELIVERY)
    await flows.deliver(h, 1)
    await flows.accept(h, 1)
    await h.until_milestone(1, lambda m: m.stage is MilestoneStage.AWAITING_PAYMENT)
    [invoice] = docs.documents()
    assert docs.valid(invoice).total_net == Decimal("1000.00")


async def test_ending_the_mission_cancels_its_unpaid_invoices_by_credit_notes(money: tuple[Harness, Money]) -> None:
    h, docs = money
    expert_id = await _in_review(h, "1000.00", "1500.00")
    await flows.accept(h, 1)
    await h.until_milestone(1, lambda m: m.stage is MilestoneStage.AWAITING_PAYMENT)
    await h.until(lambda v: v.milestones[0].invoice is not None)  # the mission heard of the invoice
    opened = OpenDispute(actor=h.client_actor, reason="the expert stopped working", milestone=2)
    await h.update("open_dispute", opened)
    d = await h.update_dispute(1, "answer_dispute", AnswerDispute(actor=h.expert(expert_id), statement="not paid"))
    assert d.milestone_number == 2 and not d.milestone_accepted
    await h.update_dispute(1, "decide_dispute", DecideDispute(actor=h.ops, outcome="end", reason="trust is gone"))

    result = await h.handle.result()
    assert result.stage is Stage.CANCELLED and result.closed_reason == "dispute 1 decided (end): trust is gone"
    first = result.milestones[0]
    assert first.stage is MilestoneStage.CANCELLED and first.invoice is not None and first.credit_note is not None
    for n in (1, 2):
        assert (await h.milestone_state(n)).stage is MilestoneStage.CANCELLED
    invoice, credit = docs.documents()
    original, note = docs.valid(invoice), docs.valid(credit)
    assert (original.type_code, note.type_code) == ("380", "381") and credit.kind == "credit_note"
    assert note.preceding_invoice is not None and note.preceding_invoice.number == invoice.number
    assert note.grand_total == original.grand_total == Decimal("1200.00")
    assert credit.number.startswith("AV-") and credit.number.endswith("-000001")  # its own gapless series
    assert docs.ledger() == [
        ("mission_invoice_issued", Decimal("1000.00"), f"invoice:{invoice.number}"),
        ("credit_note_issued", Decimal("1000.00"), f"invoice:{credit.number}"),
    ]
    assert [e.kind for e in h.timeline() if e.kind == "credit_note_issued"] == ["credit_note_issued"]
    assert {n.role for n in h.notifications("credit_note_issued")} == {"client", "expert"}
    await eventually(lambda: h.open_tasks() == [])


async def test_a_partial_acceptance_after_the_invoice_credits_it_and_invoices_again(
    money: tuple[Harness, Money],
) -> None:
    h, docs = money
    expert_id = await _in_review(h, "1000.00")
    await flows.accept(h, 1)
    await h.until(lambda v: v.milestones[0].invoice is not None)
    opened = OpenDispute(actor=h.client_actor, reason="half of the report is missing", milestone=1, evidence=EVIDENCE)
    await h.update("open_dispute", opened)
    await h.update_dispute(1, "answer_dispute", AnswerDispute(actor=h.expert(expert_id), statement="it is complete"))
    redo = DecideDispute(actor=h.ops, outcome="redo", reason="redo", new_due=(await h.state()).updated_at)
    assert "is accepted already" in await _refused(h.update_dispute(1, "decide_dispute", redo))
    decide = DecideDispute(actor=h.ops, outcome="partial", reason="half delivered", amount=Decimal("500.00"))
    await h.update_dispute(1, "decide_dispute", decide)

    m = await h.until_milestone(1, lambda m: m.stage is MilestoneStage.AWAITING_PAYMENT and m.credit_note is not None)
    first, credit, second = docs.documents()[0], docs.documents()[2], docs.documents()[1]
    assert (first.kind, second.kind, credit.kind) == ("mission_invoice", "mission_invoice", "credit_note")
    assert m.invoice is not None and m.invoice.number == second.number and m.amount.amount == Decimal("500.00")
    original, corrected, note = docs.valid(first), docs.valid(second), docs.valid(credit)
    assert original.total_net == Decimal("1000.00") and corrected.total_net == Decimal("500.00")
    assert note.type_code == "381" and note.preceding_invoice is not None
    assert note.preceding_invoice.number == first.number and note.grand_total == original.grand_total
    assert second.number.endswith("-000002"), "the new invoice takes the next number of the expert's series"
    ledger = [kind for kind, _, _ in docs.ledger()]  # in the order of the facts: invoice, its credit note, the new one
    assert ledger == ["mission_invoice_issued", "credit_note_issued", "mission_invoice_issued"]
    await eventually(lambda: "confirm_payment" in [t.action for t in h.open_tasks("client")])
    await flows.pay(h, 1)
    await flows.rate_both(h)
    result = await h.handle.result()
    assert result.stage is Stage.CLOSED and result.milestones[0].stage is MilestoneStage.PAID
