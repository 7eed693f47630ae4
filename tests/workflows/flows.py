"""Steps of the mission, reused by the tests to reach a stage quickly."""

from __future__ import annotations

from datetime import date

from domain.mission import (
    AcceptDeliverable,
    AnswerInvitation,
    AnswerRating,
    ConfirmPayment,
    MissionView,
    RateParty,
    SelectProposal,
    SignContract,
    StartInvitations,
    SubmitDeliverable,
    SubmitProposal,
)
from domain.policy import Policy
from domain.stages import MilestoneStage, Stage
from domain.terms import ProposalTerms
from tests.workflows.conftest import Harness, terms
from tests.workflows.fakes import sha
from workflows.client import send_milestone_update, send_update


async def to_shortlist(h: Harness, policy: Policy | None = None) -> MissionView:
    await h.start(policy)
    return await h.until(lambda v: v.stage is Stage.SHORTLIST and bool(v.shortlist))


async def to_invitations(h: Harness, policy: Policy | None = None) -> MissionView:
    await to_shortlist(h, policy)
    await send_update(h.env.client, h.mission_id, "start_invitations", StartInvitations(actor=h.client_actor))
    return await h.until(lambda v: v.stage is Stage.INVITATIONS and len(v.invitations) >= 3)


async def to_proposals(h: Harness, policy: Policy | None = None) -> MissionView:
    view = await to_invitations(h, policy)
    for inv in view.invitations:
        await h.update("accept_invitation", AnswerInvitation(actor=h.expert(inv.expert_id)))
    return await h.until(lambda v: v.stage is Stage.PROPOSALS and v.proposals_open)


async def to_selection(h: Harness, proposal: ProposalTerms | None = None, policy: Policy | None = None) -> MissionView:
    view = await to_proposals(h, policy)
    for expert_id in view.accepted_expert_ids():
        await h.update("submit_proposal", SubmitProposal(actor=h.expert(expert_id), terms=proposal or terms()))
    return await h.until(lambda v: not v.proposals_open and any(a.key == "select_proposal" for a in v.pending_actions))


async def to_contract(h: Harness, proposal: ProposalTerms | None = None, policy: Policy | None = None) -> MissionView:
    view = await to_selection(h, proposal, policy)
    chosen = view.accepted_expert_ids()[0]
    await h.update("select_proposal", SelectProposal(actor=h.client_actor, expert_id=chosen))
    return await h.until(lambda v: v.contract is not None and bool(v.deadlines))


async def sign(h: Harness, who: str) -> MissionView:
    view = await h.state()
    assert view.contract is not None and view.selected_expert_id is not None
    actor = h.client_actor if who == "client" else h.expert(view.selected_expert_id)
    return await h.update("sign_contract", SignContract(actor=actor, expected_sha256=view.contract.document.sha256))


async def to_delivery(h: Harness, proposal: ProposalTerms | None = None, policy: Policy | None = None) -> MissionView:
    await to_contract(h, proposal, policy)
    await sign(h, "client")
    await sign(h, "expert")
    return await h.until(lambda v: v.stage is Stage.DELIVERY and len(v.milestones) >= 1)


async def deliver(h: Harness, n: int) -> None:
    view = await h.state()
    assert view.selected_expert_id is not None
    await h.until_milestone(n, lambda m: m.stage is MilestoneStage.AWAITING_DELIVERABLE)
    doc = h.mission_id
    await h.update_milestone(
        n,
        "submit_deliverable",
        SubmitDeliverable(actor=h.expert(view.selected_expert_id), document_id=doc, sha256=sha(n)),
    )


async def accept(h: Harness, n: int) -> None:
    await h.until_milestone(n, lambda m: m.stage is MilestoneStage.IN_REVIEW)
    view = await send_milestone_update(
        h.env.client, h.mission_id, n, "accept_deliverable", AcceptDeliverable(actor=h.client_actor)
    )
    assert view.accepted_at is not None and not view.accepted_automatically


async def pay(h: Harness, n: int, on: date | None = None) -> None:
    m = await h.until_milestone(n, lambda m: m.stage is MilestoneStage.AWAITING_PAYMENT)
    assert m.accepted_at is not None
    paid_on = on or m.accepted_at.date()
    await h.update_milestone(
        n, "confirm_payment", ConfirmPayment(actor=h.client_actor, paid_on=paid_on, reference="VIR-1")
    )


async def rate_both(h: Harness) -> None:
    """Both rate (the ratings are revealed), then each answers the rating they received: nothing is left open."""
    view = await h.until(lambda v: v.stage is Stage.FEEDBACK and bool(v.deadlines))
    assert view.selected_expert_id is not None
    expert = h.expert(view.selected_expert_id)
    await h.update("rate", RateParty(actor=h.client_actor, score=5, comment="excellent"))
    await h.update("rate", RateParty(actor=expert, score=4))
    await h.until(lambda v: v.ratings_revealed)
    await h.update("answer_rating", AnswerRating(actor=expert, reply="Merci, un plaisir"))
    await h.update("answer_rating", AnswerRating(actor=h.client_actor, reply="Thank you"))


async def close_plainly(h: Harness) -> MissionView:
    """Need to closed with two milestones, each delivered and accepted, both parties rated, both paid."""
    await to_delivery(h, terms("3000.00", "2000.00"))
    for n in (1, 2):
        await deliver(h, n)
        await accept(h, n)
    await rate_both(h)
    for n in (1, 2):
        await pay(h, n)
    result: MissionView = await h.handle.result()
    return result
