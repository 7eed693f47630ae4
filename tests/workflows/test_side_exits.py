"""Side exits on the time-skipping server: cancel in every stage, disputes, needs_attention then resume, pause,
qualification by ops, reassignment, a new proposal round."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from domain.dispute import AnswerDispute, DecideDispute
from domain.mission import (
    AnswerInvitation,
    CancelMission,
    OpenDispute,
    PauseMission,
    QualifyNeed,
    ReassignExpert,
    RequestNewRound,
    ResumeMission,
    ReviseNeed,
    SelectProposal,
    SubmitProposal,
)
from domain.policy import Policy
from domain.shortlist import ShortlistRequest
from domain.stages import MilestoneStage, Stage
from tests.workflows import flows
from tests.workflows.conftest import Harness, eventually, make_need, terms

pytestmark = pytest.mark.db
QUALIFIED = Policy(qualification_required=True)


async def _qualification(h: Harness) -> object:
    await h.start(QUALIFIED)
    return await h.until(lambda v: v.stage is Stage.QUALIFICATION)


async def _contract(h: Harness) -> object:
    return await flows.to_contract(h)


REACH: dict[str, Callable[[Harness], Awaitable[object]]] = {
    "qualification": _qualification,
    "shortlist": flows.to_shortlist,
    "invitations": flows.to_invitations,
    "proposals": flows.to_proposals,
    "contract": _contract,
}


@pytest.mark.parametrize("stage", list(REACH))
async def test_client_cancels_in_every_stage_before_delivery(ts: Harness, stage: str) -> None:
    h = ts
    await REACH[stage](h)
    view = await h.update("cancel", CancelMission(actor=h.client_actor, reason="budget frozen"))
    assert view.stage is Stage.CANCELLED and view.closed_reason == "budget frozen"
    result = await h.handle.result()
    assert result.deadlines == [] and result.pending_actions == []
    await eventually(lambda: h.open_tasks() == [])
    assert h.timeline()[-1].kind == "stage:cancelled"


async def _attention_at_shortlist(h: Harness) -> object:
    h.fakes.fail.add("shortlist_experts")
    await h.start()
    return await h.until(lambda v: v.stage is Stage.NEEDS_ATTENTION)


async def _attention_at_contract(h: Harness) -> object:
    h.fakes.fail.add("render_contract")
    view = await flows.to_selection(h)
    await h.update("select_proposal", SelectProposal(actor=h.client_actor, expert_id=view.accepted_expert_ids()[0]))
    return await h.until(lambda v: v.stage is Stage.NEEDS_ATTENTION)


async def _disputed_before_signing(h: Harness) -> object:
    await flows.to_contract(h)
    await flows.sign(h, "client")  # the expert has not signed: nothing binds yet
    return await h.update("open_dispute", OpenDispute(actor=h.client_actor, reason="terms misunderstood"))


UNSIGNED: dict[str, Callable[[Harness], Awaitable[object]]] = {
    "needs_attention at the shortlist": _attention_at_shortlist,
    "needs_attention at the contract": _attention_at_contract,
    "disputed before the expert signed": _disputed_before_signing,
}


@pytest.mark.parametrize("where", list(UNSIGNED))
async def test_client_cancels_while_no_contract_is_signed_whatever_the_stage(ts: Harness, where: str) -> None:
    h = ts
    await UNSIGNED[where](h)
    view = await h.update("cancel", CancelMission(actor=h.client_actor, reason="we stop here"))
    assert view.stage is Stage.CANCELLED and view.closed_reason == "we stop here"
    await eventually(lambda: h.open_tasks() == [])


async def test_a_cancellation_while_matching_runs_ends_the_mission(dev: Harness) -> None:
    """The client cancels while the matching activity is still running: the activity is cancelled with the mission,
    which ends cancelled (it used to take the cancelled activity for a failure and wait for a repair, forever).
    On the dev server: an activity left running would pause the time-skipping server's clock for the next tests."""
    h = dev
    gate = h.fakes.gates["shortlist_experts"] = asyncio.Event()
    try:
        await h.start()
        await eventually(lambda: h.fakes.calls["shortlist_experts"] >= 1)
        view = await h.update("cancel", CancelMission(actor=h.client_actor, reason="we found someone"))
        assert view.stage is Stage.CANCELLED and view.closed_reason == "we found someone"
    finally:
        gate.set()
    await eventually(lambda: any(isinstance(r, ShortlistRequest) for r in h.fakes.requests))  # the activity ended


async def test_a_signed_contract_binds_even_when_the_mission_needs_attention(ts: Harness) -> None:
    h = ts
    h.fakes.fail.add("seal_contract")
    await flows.to_contract(h)
    await flows.sign(h, "client")
    await flows.sign(h, "expert")
    await h.until(lambda v: v.stage is Stage.NEEDS_ATTENTION)
    view = await h.update("cancel", CancelMission(actor=h.client_actor, reason="changed our mind"))
    assert view.stage is Stage.NEEDS_ATTENTION, "the client's cancellation is a request the expert must agree to"
    assert view.cancel_request is not None and view.cancel_request.by == "client"
    await eventually(lambda: [t.action for t in h.open_tasks("expert")] == ["agree_cancellation"])


async def test_ops_cancel_in_delivery_cancels_the_milestones(ts: Harness) -> None:
    h = ts
    await flows.to_delivery(h, terms("1000.00", "1500.00"))
    await h.until_milestone(2, lambda m: m.stage is MilestoneStage.AWAITING_DELIVERABLE)
    view = await h.update("cancel", CancelMission(actor=h.client_actor, reason="changed our mind"))
    assert view.stage is Stage.DELIVERY and view.cancel_request is not None  # a request, not a cancellation

    await h.update("cancel", CancelMission(actor=h.ops, reason="settled out of the platform"))
    result = await h.handle.result()
    assert result.stage is Stage.CANCELLED
    for n in (1, 2):
        m = await h.milestone_state(n)
        assert m.stage is MilestoneStage.CANCELLED
    await eventually(lambda: h.open_tasks() == [])


async def test_dispute_freezes_the_milestone_then_ops_continue(ts: Harness) -> None:
    h = ts
    await flows.to_delivery(h)
    await flows.deliver(h, 1)
    m = await h.until_milestone(1, lambda m: bool(m.deadlines))
    review_due = m.deadlines[0].due
    view = await h.state()
    assert view.selected_expert_id is not None
    await h.update("open_dispute", OpenDispute(actor=h.expert(view.selected_expert_id), reason="scope creep"))
    await h.until_milestone(1, lambda m: m.held)

    await h.skip(timedelta(days=20))  # twice the review period: no automatic acceptance while disputed
    m = await h.milestone_state(1)
    assert m.stage is MilestoneStage.IN_REVIEW
    await eventually(lambda: [t.action for t in h.open_tasks("ops")] == ["decide_dispute"])  # nobody answered

    await h.update_dispute(1, "decide_dispute", DecideDispute(actor=h.ops, outcome="continue", reason="scope agreed"))
    view = await h.until(lambda v: v.stage is Stage.DELIVERY)
    m = await h.until_milestone(1, lambda m: not m.held and m.deadlines[0].due > review_due)
    assert m.deadlines[0].due - review_due >= timedelta(days=20), "the time in dispute is given back"
    await flows.accept(h, 1)
    await h.until(lambda v: v.stage is Stage.FEEDBACK)


async def test_dispute_settled_by_ops_cancelling(ts: Harness) -> None:
    h = ts
    await flows.to_contract(h)
    view = await h.update("open_dispute", OpenDispute(actor=h.client_actor, reason="terms misunderstood"))
    assert view.selected_expert_id is not None
    answer = AnswerDispute(actor=h.expert(view.selected_expert_id), statement="the terms were clear")
    await h.update_dispute(1, "answer_dispute", answer)
    await h.update_dispute(1, "decide_dispute", DecideDispute(actor=h.ops, outcome="end", reason="both agree"))
    result = await h.handle.result()
    assert result.stage is Stage.CANCELLED
    assert result.closed_reason == "dispute 1 decided (end): both agree"


async def test_a_failing_activity_parks_the_mission_and_resume_retries_the_step(ts: Harness) -> None:
    h = ts
    h.fakes.fail.add("render_contract")
    await flows.to_selection(h)
    view = await h.state()
    await h.update("select_proposal", SelectProposal(actor=h.client_actor, expert_id=view.accepted_expert_ids()[0]))
    view = await h.until(lambda v: v.stage is Stage.NEEDS_ATTENTION)
    assert view.attention_reason is not None and "render_contract is broken" in view.attention_reason
    await eventually(lambda: [t.action for t in h.open_tasks("ops")] == ["repair"])
    refused = await _rejection(h, "resume", ResumeMission(actor=h.client_actor))
    assert refused == "only ops may resume a mission"

    h.fakes.fail.clear()  # ops fixed the cause
    await h.update("resume", ResumeMission(actor=h.ops, reason="template fixed"))
    view = await h.until(lambda v: v.stage is Stage.CONTRACT and v.contract is not None)
    assert h.fakes.calls["render_contract"] == 2
    await eventually(lambda: h.open_tasks("ops") == [])


async def test_a_failing_invoice_parks_the_milestone_and_resume_issues_it(ts: Harness) -> None:
    h = ts
    await flows.to_delivery(h)
    h.fakes.fail.add("issue_mission_invoice")
    await flows.deliver(h, 1)
    await flows.accept(h, 1)
    m = await h.until_milestone(1, lambda m: m.stage is MilestoneStage.NEEDS_ATTENTION)
    assert m.attention_reason is not None and "mission invoice failed" in m.attention_reason
    h.fakes.fail.clear()
    await h.update_milestone(1, "resume", ResumeMission(actor=h.ops))
    m = await h.until_milestone(1, lambda m: m.stage is MilestoneStage.AWAITING_PAYMENT)
    assert m.invoice is not None


async def test_pause_freezes_deadlines_and_human_actions(ts: Harness) -> None:
    h = ts
    view = await flows.to_proposals(h)
    due = view.deadlines[0].due
    await h.update("pause", PauseMission(actor=h.ops, reason="client under audit"))
    refused = await _rejection(
        h, "withdraw_proposal", SubmitProposal(actor=h.expert(view.accepted_expert_ids()[0]), terms=terms())
    )
    assert refused.startswith("the mission is paused by ops")

    await h.skip(timedelta(days=10))
    view = await h.state()
    assert view.proposals_open, "the proposal window does not close while paused"
    view = await h.update("resume", ResumeMission(actor=h.ops))
    assert view.deadlines[0].due >= due + timedelta(days=10)


async def test_ops_qualify_ask_details_then_approve(ts: Harness) -> None:
    h = ts
    await _qualification(h)
    refused = await _rejection(h, "qualify_need", QualifyNeed(actor=h.client_actor, decision="approve"))
    assert refused == "only ops may qualify a need"
    view = await h.update("qualify_need", QualifyNeed(actor=h.ops, decision="ask_details", reason="which ERP?"))
    assert view.stage is Stage.NEED
    better = make_need(description="Redesign the monthly close on SAP S/4HANA for an industrial group.")
    view = await h.update("revise_need", ReviseNeed(actor=h.client_actor, need=better))
    assert view.stage is Stage.QUALIFICATION and "SAP" in view.need.description
    await h.update("qualify_need", QualifyNeed(actor=h.ops, decision="approve"))
    await h.until(lambda v: v.stage is Stage.SHORTLIST and bool(v.shortlist))


async def test_ops_reject_a_need_with_a_reason(ts: Harness) -> None:
    h = ts
    await _qualification(h)
    view = await h.update(
        "qualify_need", QualifyNeed(actor=h.ops, decision="reject", reason="recruitment, not consulting")
    )
    assert view.stage is Stage.CANCELLED
    assert view.closed_reason == "rejected by ops: recruitment, not consulting"


async def test_ops_reassign_an_invited_expert(ts: Harness) -> None:
    h = ts
    view = await flows.to_invitations(h)
    old = view.invitations[0].expert_id
    new = h.fakes.experts[-1]
    view = await h.update(
        "reassign_expert", ReassignExpert(actor=h.ops, from_expert_id=old, to_expert_id=new, reason="on leave")
    )
    statuses = {i.expert_id: i.status for i in view.invitations}
    assert statuses[old] == "withdrawn" and statuses[new] == "pending"
    refused = await _rejection(h, "accept_invitation", AnswerInvitation(actor=h.expert(old)))
    assert refused == "the invitation is already withdrawn"


async def test_client_asks_for_a_new_proposal_round(ts: Harness) -> None:
    h = ts
    await flows.to_selection(h)
    await h.update("request_new_round", RequestNewRound(actor=h.client_actor, reason="prices too high"))
    view = await h.until(lambda v: v.proposal_round == 2 and v.proposals_open)
    await eventually(lambda: len(h.open_tasks("expert")) == 3)
    assert [d.key for d in view.deadlines] == ["proposals:2"]


async def _rejection(h: Harness, name: str, cmd: object) -> str:
    from temporalio.client import WorkflowUpdateFailedError

    from workflows.client import rejection_reason

    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.update(name, cmd)  # type: ignore[arg-type]
    return rejection_reason(err.value)
