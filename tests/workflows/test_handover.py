"""After the contract, ops hand the undelivered milestones over to another expert through a contract amendment that
the client then the new expert sign (workflows/handover.py), on the time-skipping server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain.documents import AmendmentRequest, MissionInvoiceRequest
from domain.mission import ConfirmPayment, ReassignExpert, SignContract, SubmitDeliverable
from domain.stages import MilestoneStage, Stage
from tests.workflows import flows
from tests.workflows.conftest import START, Harness, eventually, terms
from workflows.client import rejection_reason

pytestmark = pytest.mark.db


async def _refused(coro: object) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await coro  # type: ignore[misc]
    return rejection_reason(err.value)


async def test_an_amendment_hands_the_undelivered_milestones_to_a_new_expert(ts: Harness) -> None:
    h = ts
    view = await flows.to_delivery(h, terms("1000.00", "1500.00", "2000.00"))
    old, new = view.selected_expert_id, h.fakes.experts[-1]
    assert old is not None and new != old
    await flows.deliver(h, 1)
    await flows.accept(h, 1)  # accepted: it stays the first expert's, invoiced to them
    await h.until_milestone(1, lambda m: m.stage is MilestoneStage.AWAITING_PAYMENT)
    await flows.deliver(h, 2)
    await h.until(lambda v: v.milestones[1].stage is MilestoneStage.IN_REVIEW)

    due = START + timedelta(days=90)
    ask = ReassignExpert(actor=h.ops, from_expert_id=old, to_expert_id=new, reason="expert on long leave", due_date=due)
    refused = await _refused(h.update("reassign_expert", ask))
    assert "milestone 2 awaits the client's review" in refused
    await flows.accept(h, 2)
    await h.until(lambda v: v.milestones[1].stage is not MilestoneStage.IN_REVIEW)
    wrong = ask.model_copy(update={"from_expert_id": new})
    assert "is not the mission's contractor" in await _refused(h.update("reassign_expert", wrong))

    view = await h.update("reassign_expert", ask)
    assert view.stage is Stage.DELIVERY and view.selected_expert_id == old, "nothing changes before the signatures"
    assert [a.milestones for a in view.amendments] == [[3]]
    await h.until_milestone(3, lambda m: m.held)
    held = SubmitDeliverable(actor=h.expert(old), document_id=h.mission_id, sha256="a" * 64)
    with pytest.raises(WorkflowUpdateFailedError):
        await h.update_milestone(3, "submit_deliverable", held)
    assert "amendment 1 to this expert is being signed" in await _refused(h.update("reassign_expert", ask))

    view = await h.until(lambda v: v.amendments[0].contract is not None)
    amendment = view.amendments[0]
    assert amendment.contract is not None
    sha = amendment.contract.document.sha256
    request = next(r for r in h.fakes.requests if isinstance(r, AmendmentRequest))
    assert (request.from_expert_id, request.expert_id, request.numbers) == (old, new, [3])
    assert request.milestones[0].due_date == due and request.milestones[0].amount == 2000
    await eventually(lambda: {t.key for t in h.open_tasks()} >= {"amend:1:client", "amend:1:expert"})
    assert "the client signs first" in await _refused(
        h.update("sign_contract", SignContract(actor=h.expert(new), expected_sha256=sha))
    )
    view = await h.update("sign_contract", SignContract(actor=h.client_actor, expected_sha256=sha))
    signed = view.amendments[0].contract
    assert signed is not None and [s.party for s in signed.signatures] == ["client"]
    by_old = SignContract(actor=h.expert(old), expected_sha256=signed.document.sha256)
    assert "only the new expert" in await _refused(h.update("sign_contract", by_old))
    await h.update("sign_contract", SignContract(actor=h.expert(new), expected_sha256=signed.document.sha256))

    view = await h.until(lambda v: v.amendments[0].handed_over_at is not None)
    assert view.selected_expert_id == new and view.former_expert_ids == [old]
    assert view.amendments[0].contract is not None and view.amendments[0].contract.sealed is not None
    m3 = await h.until_milestone(3, lambda m: m.expert_id == new and not m.held)
    assert m3.due_date == due and m3.pending_actions[0].party_id == new
    assert "only the mission's expert" in await _refused(h.update_milestone(3, "submit_deliverable", held))
    await flows.deliver(h, 3)  # by the mission's expert now: the new one
    await flows.accept(h, 3)
    await h.until_milestone(3, lambda m: m.stage is MilestoneStage.AWAITING_PAYMENT)
    invoices = {r.milestone_id: r for r in h.fakes.requests if isinstance(r, MissionInvoiceRequest)}
    third, first = invoices[f"mission:{h.mission_id}:milestone:3"], invoices[f"mission:{h.mission_id}:milestone:1"]
    assert third.expert_id == new and third.contract_id == amendment.contract.document.document_id
    assert first.expert_id == old and first.contract_id == view.contract.document.document_id  # type: ignore[union-attr]

    # the first expert confirms the payment of their own milestone; the new one cannot
    m1 = await h.milestone_state(1)
    assert m1.expert_id == old and m1.accepted_at is not None
    paid = ConfirmPayment(actor=h.expert(new), paid_on=m1.accepted_at.date(), reference="VIR-1")
    with pytest.raises(WorkflowUpdateFailedError):
        await h.update_milestone(1, "confirm_payment", paid)
    await h.update_milestone(1, "confirm_payment", paid.model_copy(update={"actor": h.expert(old)}))
    await flows.pay(h, 2)
    await flows.pay(h, 3)
    await h.until(lambda v: v.stage is Stage.FEEDBACK)
    kinds = [e.kind for e in h.timeline()]
    assert kinds.index("amendment_requested") < kinds.index("amendment_ready") < kinds.index("contract_amended")
    assert {n.kind for n in h.notifications()} >= {"contract_handed_over", "contract_amended"}


async def test_a_handover_asks_for_a_due_date_when_the_milestone_is_late(ts: Harness) -> None:
    h = ts
    view = await flows.to_delivery(h, terms("1000.00"))
    old, new = view.selected_expert_id, h.fakes.experts[-1]
    assert old is not None
    await h.skip(timedelta(days=(START - view.started_at.date()).days + 11))  # milestone 1 was due on START + 10
    ask = ReassignExpert(actor=h.ops, from_expert_id=old, to_expert_id=new, reason="expert gone")
    assert "due_date: milestone 1 is due by today" in await _refused(h.update("reassign_expert", ask))
    past = ask.model_copy(update={"due_date": START})
    assert "due_date: must be after today" in await _refused(h.update("reassign_expert", past))


async def test_ops_replace_an_amendment_the_new_expert_did_not_sign(ts: Harness) -> None:
    h = ts
    view = await flows.to_delivery(h, terms("1000.00", "1500.00"))
    old, declining, new = view.selected_expert_id, h.fakes.experts[-1], h.fakes.experts[-2]
    assert old is not None and old not in (declining, new)
    first = ReassignExpert(actor=h.ops, from_expert_id=old, to_expert_id=declining, reason="expert on leave")
    await h.update("reassign_expert", first)
    view = await h.until(lambda v: v.amendments[0].contract is not None)
    assert view.amendments[0].milestones == [1, 2]
    signing = view.amendments[0].contract
    assert signing is not None
    await h.update("sign_contract", SignContract(actor=h.client_actor, expected_sha256=signing.document.sha256))
    assert "being signed" in await _refused(h.update("reassign_expert", first))

    second = first.model_copy(update={"to_expert_id": new, "reason": "the first choice declined"})
    view = await h.update("reassign_expert", second)
    assert view.amendments[0].withdrawn_at is not None and view.amendments[1].to_expert_id == new
    await eventually(lambda: not {t.key for t in h.open_tasks()} & {"amend:1:client", "amend:1:expert"})
    view = await h.until(lambda v: v.amendments[1].contract is not None)
    stale = SignContract(actor=h.expert(declining), expected_sha256=signing.document.sha256)
    assert "only the new expert" in await _refused(h.update("sign_contract", stale))
    for actor in (h.client_actor, h.expert(new)):
        signing = view.amendments[1].contract
        assert signing is not None
        view = await h.update("sign_contract", SignContract(actor=actor, expected_sha256=signing.document.sha256))
    view = await h.until(lambda v: v.amendments[1].handed_over_at is not None)
    assert view.selected_expert_id == new and view.former_expert_ids == [old]
    for n in (1, 2):
        await h.until_milestone(n, lambda m: m.expert_id == new and not m.held)
