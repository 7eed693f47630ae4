"""Validators refuse with a reason, before anything enters the history: wrong stage, wrong person, past
deadline, invalid payload, exhausted bounds."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError

from domain.actors import Actor, Role
from domain.mission import (
    AnswerInvitation,
    CancelMission,
    ConfirmPayment,
    EditShortlist,
    ExtendDeadline,
    RequestRevision,
    SelectProposal,
    SignContract,
    StartInvitations,
    SubmitDeliverable,
    SubmitProposal,
)
from domain.stages import MilestoneStage
from domain.terms import MilestonePlan, ProposalTerms
from tests.workflows import flows
from tests.workflows.conftest import START, Harness, terms
from tests.workflows.fakes import sha
from workflows.client import rejection_reason

pytestmark = pytest.mark.db


async def accepted_updates(h: Harness, milestone: int | None = None) -> int:
    handle = h.milestone(milestone) if milestone else h.handle
    events = (await handle.fetch_history()).events
    return sum(1 for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)


async def refused(h: Harness, name: str, cmd: BaseModel, milestone: int | None = None) -> str:
    """Assert the update is rejected, and never accepted into the workflow history."""
    before = await accepted_updates(h, milestone)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        if milestone:
            await h.update_milestone(milestone, name, cmd)
        else:
            await h.update(name, cmd)
    assert await accepted_updates(h, milestone) == before, "a rejected update never enters the history"
    return rejection_reason(err.value)


async def _quiet_history_length(h: Harness) -> int:
    """The history's length once it stopped growing (no activity, timer or task finishing meanwhile)."""
    length = -1
    while True:
        current = len((await h.handle.fetch_history()).events)
        if current == length:
            return current
        length = current
        await asyncio.sleep(0.5)


async def test_on_the_real_server_a_rejection_leaves_no_event_at_all(dev: Harness) -> None:
    h = dev
    view = await flows.to_shortlist(h)
    await h.settle()
    before = await _quiet_history_length(h)  # the notices' deliveries end in the background
    cmd = EditShortlist(actor=h.outsider, remove_expert_ids=[view.shortlist[0].expert_id])
    with pytest.raises(WorkflowUpdateFailedError):
        await h.update("edit_shortlist", cmd)
    assert len((await h.handle.fetch_history()).events) == before
    await h.update("cancel", CancelMission(actor=h.client_actor, reason="test over"))


async def test_shortlist_and_invitation_rules(ts: Harness) -> None:
    h = ts
    view = await flows.to_shortlist(h)
    listed = view.shortlist[0].expert_id
    assert await refused(h, "edit_shortlist", EditShortlist(actor=h.outsider, remove_expert_ids=[listed])) == (
        "only a member of the client organisation may edit the shortlist"
    )
    assert (
        await refused(h, "edit_shortlist", EditShortlist(actor=h.client_actor, remove_expert_ids=[uuid.uuid4()]))
    ).startswith("not on the shortlist")
    assert await refused(h, "accept_invitation", AnswerInvitation(actor=h.expert(listed))) == (
        "cannot answer an invitation while the mission is in shortlist (only in invitations)"
    )
    assert await refused(h, "select_proposal", SelectProposal(actor=h.client_actor, expert_id=listed)) == (
        "cannot select a proposal while the mission is in shortlist (only in proposals)"
    )
    view = await h.update("edit_shortlist", EditShortlist(actor=h.client_actor, remove_expert_ids=[listed]))
    assert listed not in [c.expert_id for c in view.shortlist] and view.removed_expert_ids == [listed]

    await h.update("start_invitations", StartInvitations(actor=h.client_actor))
    view = await h.until(lambda v: len(v.invitations) >= 2)
    stranger = Actor(user_id=uuid.uuid4(), role=Role.EXPERT, expert_id=uuid.uuid4())
    assert await refused(h, "accept_invitation", AnswerInvitation(actor=stranger)) == (
        "only an invited expert may answer this invitation"
    )
    invited = view.invitations[0].expert_id
    await h.update("decline_invitation", AnswerInvitation(actor=h.expert(invited)))
    assert await refused(h, "accept_invitation", AnswerInvitation(actor=h.expert(invited))) == (
        "the invitation is already declined"
    )


async def test_proposal_payload_and_window_rules(ts: Harness) -> None:
    h = ts
    view = await flows.to_proposals(h)
    expert = h.expert(view.accepted_expert_ids()[0])
    wrong_daily = terms("4000.00", daily=True).model_copy(update={"days": Decimal("4")})
    assert await refused(h, "submit_proposal", SubmitProposal(actor=expert, terms=wrong_daily)) == (
        "daily_rate x days = 3200.00 but the milestones add up to 4000.00"
    )
    early = ProposalTerms(
        approach="A clear and tested approach.",
        pricing="fixed",
        milestones=[MilestonePlan(title="Kick-off", amount=Decimal("100"), due_date=START - timedelta(days=1))],
    )
    assert await refused(h, "submit_proposal", SubmitProposal(actor=expert, terms=early)) == (
        "a milestone is due before the mission starts"
    )
    in_dollars = terms("4000.00").model_copy(update={"currency": "USD"})
    assert await refused(h, "submit_proposal", SubmitProposal(actor=expert, terms=in_dollars)) == (
        "terms.currency: the need is budgeted in EUR; propose in EUR, not USD"
    )
    await h.update("submit_proposal", SubmitProposal(actor=expert, terms=terms("4000.00", daily=True)))

    await h.skip(timedelta(days=7, hours=1))
    await h.until(lambda v: not v.proposals_open)
    assert await refused(h, "submit_proposal", SubmitProposal(actor=expert, terms=terms())) == (
        "the proposal window of round 1 is closed"
    )
    late = ExtendDeadline(actor=h.ops, key="proposals:1", new_due=view.deadlines[0].due + timedelta(days=30))
    assert (await refused(h, "extend_deadline", late)).startswith("no running deadline 'proposals:1'")


async def test_contract_signature_rules(ts: Harness) -> None:
    h = ts
    view = await flows.to_contract(h)
    assert view.contract is not None and view.selected_expert_id is not None
    current = view.contract.document.sha256
    expert = h.expert(view.selected_expert_id)
    other = h.expert(next(e for e in view.accepted_expert_ids() if e != view.selected_expert_id))
    assert await refused(h, "sign_contract", SignContract(actor=expert, expected_sha256=current)) == (
        "the client signs first, then the expert"
    )
    assert await refused(h, "sign_contract", SignContract(actor=h.client_actor, expected_sha256=sha("old"))) == (
        "the contract changed since you opened it: reload it before signing"
    )
    await flows.sign(h, "client")
    assert await refused(h, "sign_contract", SignContract(actor=other, expected_sha256=current)) == (
        "only the selected expert may sign for the expert"
    )
    assert await refused(h, "sign_contract", SignContract(actor=expert, expected_sha256=current)) == (
        "the contract changed since you opened it: reload it before signing"
    ), "the client's signature changed the PDF: the expert must sign the new one"


async def test_milestone_rules_and_bounded_revisions(ts: Harness) -> None:
    h = ts
    view = await flows.to_delivery(h)
    assert view.selected_expert_id is not None
    await h.until_milestone(1, lambda m: m.stage is MilestoneStage.AWAITING_DELIVERABLE)
    deliverable = SubmitDeliverable(actor=h.client_actor, document_id=uuid.uuid4(), sha256=sha(1))
    assert await refused(h, "submit_deliverable", deliverable, milestone=1) == (
        "only the mission's expert may submit a deliverable"
    )
    revise = RequestRevision(actor=h.client_actor, reason="missing the appendix")
    for _ in range(2):
        await flows.deliver(h, 1)
        await h.until_milestone(1, lambda m: m.stage is MilestoneStage.IN_REVIEW)
        await h.update_milestone(1, "request_revision", revise)
    await flows.deliver(h, 1)
    await h.until_milestone(1, lambda m: m.stage is MilestoneStage.IN_REVIEW)
    assert await refused(h, "request_revision", revise, milestone=1) == (
        "the 2 revision rounds are used up: accept the deliverable or open a dispute"
    )
    pay = ConfirmPayment(actor=h.client_actor, paid_on=START)
    assert await refused(h, "confirm_payment", pay, milestone=1) == (
        "cannot confirm the payment while the milestone is in_review"
    )
    await flows.accept(h, 1)
    m = await h.until_milestone(1, lambda m: m.stage is MilestoneStage.AWAITING_PAYMENT)
    assert m.revisions == 2
    future = ConfirmPayment(actor=h.client_actor, paid_on=START + timedelta(days=3650))
    assert await refused(h, "confirm_payment", future, milestone=1) == "the payment date is in the future"
