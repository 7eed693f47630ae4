"""The rules of MissionWorkflow's human actions, pure: who may do what, when (each update's validator calls its
`check_*`), and the queries on the state they need.

Validators raise ValueError with a reason a person can act on; Temporal rejects the update before anything
enters the history. No I/O here, no clock but the `now` passed in.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from domain.actors import Actor, Role
from domain.mission import (
    AnswerInvitation,
    AnswerRating,
    ApproveBudget,
    CancelMission,
    Deadline,
    EditShortlist,
    ExtendDeadline,
    Invitation,
    InviteExpert,
    MilestoneView,
    MissionView,
    OpenDispute,
    PauseMission,
    Proposal,
    QualifyNeed,
    RateParty,
    Rating,
    ReassignExpert,
    RejectBudget,
    RequestNewRound,
    ResumeMission,
    ReviseNeed,
    SelectProposal,
    SignContract,
    StartInvitations,
    SubmitProposal,
    WithdrawProposal,
    is_client_member,
    is_expert,
    is_ops,
)
from domain.org_roles import APPROVES, may
from domain.stages import TERMINAL, MilestoneStage, Stage
from domain.terms import proposal_total

# deadlines whose expiry is handled once for good (the window closed): they cannot be reopened
ONE_SHOT = frozenset({"invitation", "proposals", "feedback", "review"})


# --- queries on the state --------------------------------------------------------------------------------


def invitation(view: MissionView, expert_id: UUID) -> Invitation | None:
    return next((i for i in view.invitations if i.expert_id == expert_id), None)


def accepted_or_pending(view: MissionView) -> int:
    return sum(1 for i in view.invitations if i.status in ("accepted", "pending"))


def pending_or_reserve(view: MissionView) -> bool:
    return any(i.status == "pending" for i in view.invitations) or bool(view.reserve)


def all_answered(view: MissionView) -> bool:
    answered = {p.expert_id for p in view.proposals if p.round == view.proposal_round}
    return all(e in answered for e in view.accepted_expert_ids())


def selected_proposal(view: MissionView) -> Proposal:
    """The proposal the contract was made of (its expert may have handed the mission over since: an amendment)."""
    return next(p for p in view.proposals if p.status == "selected")


def signing_party(actor: Actor) -> Literal["client", "expert"]:
    return "client" if actor.role is Role.CLIENT else "expert"


# --- validators ------------------------------------------------------------------------------------------


def _stage(view: MissionView, *stages: Stage, doing: str) -> None:
    if view.stage not in stages:
        wanted = " or ".join(s.value for s in stages)
        raise ValueError(f"cannot {doing} while the mission is in {view.stage.value} (only in {wanted})")


def _not_paused(view: MissionView, actor: Actor) -> None:
    if view.paused and not is_ops(actor):
        raise ValueError(f"the mission is paused by ops: {view.paused_reason}")


def _client(view: MissionView, actor: Actor, doing: str) -> None:
    if not is_client_member(actor, view.client_org_id):
        raise ValueError(f"only a member of the client organisation may {doing}")
    _not_paused(view, actor)


def _ops(actor: Actor, doing: str) -> None:
    if not is_ops(actor):
        raise ValueError(f"only ops may {doing}")


def _before(d: Deadline | None, now: datetime, what: str) -> None:
    if d is not None and now > d.due:
        raise ValueError(f"{what} closed at {d.due.isoformat()}")


def _deadline(view: MissionView | MilestoneView, key: str) -> Deadline | None:
    return next((d for d in view.deadlines if d.key == key), None)


REVISE_TASKS = ("need_details", "revise_budget")  # ops asked for details; an approver rejected the budget


def check_revise_need(view: MissionView, cmd: ReviseNeed) -> None:
    _client(view, cmd.actor, "revise the need")
    _stage(view, Stage.NEED, doing="revise the need")
    if not any(a.key in REVISE_TASKS for a in view.pending_actions):
        raise ValueError("nobody asked to revise the need: neither ops nor an approver")


def check_budget_decision(view: MissionView, cmd: ApproveBudget | RejectBudget) -> None:
    doing = "approve the budget" if isinstance(cmd, ApproveBudget) else "reject the budget"
    if not (is_client_member(cmd.actor, view.client_org_id) and may(cmd.actor.org_role, APPROVES)):
        raise ValueError(f"only an approver (or the admin) of the client organisation may {doing}")
    _not_paused(view, cmd.actor)
    _stage(view, Stage.APPROVAL, doing=doing)


def check_qualify(view: MissionView, cmd: QualifyNeed) -> None:
    _ops(cmd.actor, "qualify a need")
    _stage(view, Stage.QUALIFICATION, doing="qualify the need")
    if cmd.decision != "approve" and len(cmd.reason.strip()) < 3:
        raise ValueError("give the client a reason")


def check_edit_shortlist(view: MissionView, cmd: EditShortlist) -> None:
    _client(view, cmd.actor, "edit the shortlist")
    _stage(view, Stage.SHORTLIST, doing="edit the shortlist")
    listed = {c.expert_id for c in view.shortlist}
    unknown = [str(e) for e in cmd.remove_expert_ids if e not in listed]
    if unknown:
        raise ValueError(f"not on the shortlist: {', '.join(unknown)}")
    if listed <= set(cmd.remove_expert_ids):
        raise ValueError("keep at least one candidate (or cancel the mission)")


MAX_SHORTLIST = 20


def check_invite_expert(view: MissionView, cmd: InviteExpert) -> None:
    _not_paused(view, cmd.actor)
    _client(view, cmd.actor, "invite an expert")
    _stage(view, Stage.SHORTLIST, doing="invite an expert of your choice")
    if not view.shortlist:
        raise ValueError("the shortlist is not ready yet: add your choice once matching has proposed its candidates")
    if any(c.expert_id == cmd.expert_id for c in view.shortlist):
        raise ValueError("this expert is on the shortlist already")
    if len(view.shortlist) >= MAX_SHORTLIST:
        raise ValueError(f"the shortlist holds {MAX_SHORTLIST} experts at most: remove one first")


def check_start_invitations(view: MissionView, cmd: StartInvitations) -> None:
    _client(view, cmd.actor, "start the invitations")
    _stage(view, Stage.SHORTLIST, doing="start invitations")
    if not view.shortlist:
        raise ValueError("the shortlist is not ready yet")


def check_answer_invitation(view: MissionView, cmd: AnswerInvitation, now: datetime) -> None:
    _not_paused(view, cmd.actor)
    _stage(view, Stage.INVITATIONS, doing="answer an invitation")
    inv = invitation(view, cmd.actor.expert_id) if cmd.actor.role is Role.EXPERT and cmd.actor.expert_id else None
    if inv is None:
        raise ValueError("only an invited expert may answer this invitation")
    if inv.status != "pending":
        raise ValueError(f"the invitation is already {inv.status}")
    _before(_deadline(view, f"invitation:{inv.expert_id}"), now, "the invitation")


def check_submit_proposal(view: MissionView, cmd: SubmitProposal, now: datetime) -> None:
    check_withdraw_proposal(view, cmd)
    _before(_deadline(view, f"proposals:{view.proposal_round}"), now, "the proposal window")
    terms = cmd.terms
    total = proposal_total(terms).amount
    if terms.pricing == "daily":
        if terms.daily_rate is None or terms.days is None:
            raise ValueError("a daily-rate proposal needs daily_rate and days")
        priced = (terms.daily_rate * terms.days).quantize(Decimal("0.01"))
        if priced != total:
            raise ValueError(f"daily_rate x days = {priced} but the milestones add up to {total}")
    if any(m.due_date < view.need.start_date for m in terms.milestones):
        raise ValueError("a milestone is due before the mission starts")
    if terms.currency != view.need.currency:
        raise ValueError(
            f"terms.currency: the need is budgeted in {view.need.currency}; propose in {view.need.currency}, "
            f"not {terms.currency}"
        )


def check_withdraw_proposal(view: MissionView, cmd: SubmitProposal | WithdrawProposal) -> None:
    _not_paused(view, cmd.actor)
    _stage(view, Stage.PROPOSALS, doing="submit or withdraw a proposal")
    if not view.proposals_open:
        raise ValueError(f"the proposal window of round {view.proposal_round} is closed")
    accepted = view.accepted_expert_ids()
    if not (cmd.actor.role is Role.EXPERT and cmd.actor.expert_id in accepted):
        raise ValueError("only an expert who accepted the invitation may submit or withdraw a proposal")
    if isinstance(cmd, WithdrawProposal) and not any(
        p.expert_id == cmd.actor.expert_id and p.round == view.proposal_round and p.status == "submitted"
        for p in view.proposals
    ):
        raise ValueError("there is no proposal of yours in this round to withdraw")


def check_select_proposal(view: MissionView, cmd: SelectProposal) -> None:
    _client(view, cmd.actor, "select a proposal")
    _stage(view, Stage.PROPOSALS, doing="select a proposal")
    if view.proposals_open:
        raise ValueError("the proposal window is still open")
    if not any(
        p.expert_id == cmd.expert_id and p.round == view.proposal_round and p.status == "submitted"
        for p in view.proposals
    ):
        raise ValueError(f"no live proposal from expert {cmd.expert_id} in round {view.proposal_round}")


def check_request_new_round(view: MissionView, cmd: RequestNewRound, already: bool) -> None:
    _client(view, cmd.actor, "ask for a new round")
    _stage(view, Stage.PROPOSALS, doing="ask for a new round")
    if view.proposals_open or already:
        raise ValueError("the proposal window is still open")
    if view.proposal_round >= view.policy.proposal_rounds:
        raise ValueError(f"the {view.policy.proposal_rounds} proposal rounds are used up: select or cancel")
    if not view.accepted_expert_ids():
        raise ValueError("no expert left to propose")


def check_sign_contract(view: MissionView, cmd: SignContract, now: datetime) -> None:
    """The contract in its stage, or during the delivery an amendment (signed by the client and the new expert)."""
    _not_paused(view, cmd.actor)
    amendment = view.pending_amendment() if view.stage is not Stage.CONTRACT else None
    if amendment is None:
        _stage(view, Stage.CONTRACT, doing="sign the contract")
    elif view.stage is not Stage.DELIVERY:
        raise ValueError(f"cannot sign amendment {amendment.number} while the mission is {view.stage.value}")
    contract = view.to_sign()
    if contract is None:
        raise ValueError("the amendment is being prepared" if amendment else "the contract is being prepared")
    signer = amendment.to_expert_id if amendment else view.selected_expert_id
    if cmd.actor.role is Role.CLIENT:
        if not is_client_member(cmd.actor, view.client_org_id):
            raise ValueError("only a member of the client organisation may sign for the client")
    elif not is_expert(cmd.actor, signer):
        raise ValueError(f"only the {'new' if amendment else 'selected'} expert may sign for the expert")
    party = signing_party(cmd.actor)
    if party == "expert" and not any(s.party == "client" for s in contract.signatures):
        raise ValueError("the client signs first, then the expert")
    if any(s.party == party for s in contract.signatures):
        raise ValueError(f"the {party} has signed already")
    if any(not s.recorded for s in contract.signatures):
        raise ValueError("the other party's signature is being recorded: reload the contract and sign again")
    if cmd.expected_sha256 != contract.document.sha256:
        raise ValueError("the contract changed since you opened it: reload it before signing")


def check_rate(view: MissionView, cmd: RateParty, now: datetime) -> None:
    _not_paused(view, cmd.actor)
    _stage(view, Stage.FEEDBACK, doing="rate")
    if cmd.actor.role is Role.CLIENT:
        if not is_client_member(cmd.actor, view.client_org_id):
            raise ValueError("only a member of the client organisation may rate the expert")
    elif not is_expert(cmd.actor, view.selected_expert_id):
        raise ValueError("only the mission's expert may rate the client")
    by = signing_party(cmd.actor)
    if any(r.by == by for r in view.ratings):
        raise ValueError(f"the {by} has rated already")
    _before(_deadline(view, "feedback"), now, "the feedback window")


def ratings_summary(ratings: list[Rating]) -> str:
    """The revealed ratings, as the timeline tells them."""
    if not ratings:
        return "no rating given"
    return "ratings revealed: " + ", ".join(f"{r.by} rated {r.score}/5" for r in ratings)


def rating_received(view: MissionView, actor: Actor) -> Rating:
    """The rating the actor's side received (given by the other party); ValueError if there is none."""
    by = "expert" if signing_party(actor) == "client" else "client"
    found = next((r for r in view.ratings if r.by == by), None)
    if found is None:
        raise ValueError(f"the {by} gave no rating to answer")
    return found


def check_answer_rating(view: MissionView, cmd: AnswerRating, now: datetime) -> None:
    if cmd.actor.role is Role.CLIENT:
        if not is_client_member(cmd.actor, view.client_org_id):
            raise ValueError("only a member of the client organisation may answer the expert's rating")
    elif not is_expert(cmd.actor, view.selected_expert_id):
        raise ValueError("only the mission's expert may answer the client's rating")
    if not view.ratings_revealed:
        raise ValueError("the ratings are not revealed yet: both parties rate, or the feedback window closes")
    rating = rating_received(view, cmd.actor)
    if rating.replied_at is not None:
        raise ValueError("this rating was answered already: an answer is given once")
    if view.replies_until is not None and now > view.replies_until:
        raise ValueError(f"ratings could be answered until {view.replies_until.isoformat()}")


def check_cancel(view: MissionView, cmd: CancelMission, stopping: bool) -> None:
    if view.stage in TERMINAL or stopping:
        raise ValueError(f"the mission is {view.stage.value} already")
    if is_ops(cmd.actor):
        return
    binds = view.contract is not None and view.contract.binds()
    if not binds:
        # the client may walk away until both parties signed, in any stage (needs_attention and disputed included)
        _client(view, cmd.actor, "cancel the mission before the contract binds")
        return
    if not (is_client_member(cmd.actor, view.client_org_id) or is_expert(cmd.actor, view.selected_expert_id)):
        raise ValueError("only the parties of the contract (or ops) may cancel the mission")
    _not_paused(view, cmd.actor)
    request, party = view.cancel_request, signing_party(cmd.actor)
    if request is None:
        return
    if request.by == party:
        raise ValueError("you asked to cancel already: the other party agrees by cancelling too, or open a dispute")
    if request.unpaid_invoices != cmd.unpaid_invoices:
        raise ValueError(
            f"unpaid_invoices: the {request.by} proposed {request.unpaid_invoices!r}; agree with the same choice "
            "or open a dispute"
        )


def check_open_dispute(view: MissionView, cmd: OpenDispute) -> None:
    party = is_client_member(cmd.actor, view.client_org_id) or is_expert(cmd.actor, view.selected_expert_id)
    if not party:
        raise ValueError("only the client or the selected expert may open a dispute")
    if view.stage is Stage.DISPUTED:
        raise ValueError(f"dispute {view.disputes} is open already: answer it or write in it")
    _not_paused(view, cmd.actor)
    _stage(view, Stage.CONTRACT, Stage.DELIVERY, Stage.FEEDBACK, doing="open a dispute")
    if cmd.milestone is not None and not any(m.number == cmd.milestone for m in view.milestones):
        numbers = ", ".join(str(m.number) for m in view.milestones) or "none yet"
        raise ValueError(f"milestone: the mission has no milestone {cmd.milestone} (milestones: {numbers})")


def check_pause(view: MissionView, cmd: PauseMission) -> None:
    _ops(cmd.actor, "pause a mission")
    if view.paused:
        raise ValueError("the mission is paused already")
    if view.stage in TERMINAL:
        raise ValueError(f"the mission is {view.stage.value}")


def check_resume(view: MissionView, cmd: ResumeMission) -> None:
    _ops(cmd.actor, "resume a mission")
    if not view.paused and view.stage is not Stage.NEEDS_ATTENTION:
        raise ValueError("the mission is neither paused nor waiting for a repair")


def check_extend(view: MissionView | MilestoneView, cmd: ExtendDeadline, now: datetime) -> None:
    """A mission's or a milestone's deadline (both keep theirs in `deadlines`)."""
    _ops(cmd.actor, "extend a deadline")
    d = _deadline(view, cmd.key)
    if d is None:
        keys = ", ".join(x.key for x in view.deadlines) or "none"
        raise ValueError(f"no running deadline {cmd.key!r} (running: {keys})")
    if cmd.new_due.tzinfo is None or cmd.new_due <= now:
        raise ValueError("the new due date must be in the future (timezone-aware)")
    if d.expired and d.kind in ONE_SHOT:
        raise ValueError(f"the {d.kind} deadline has passed and was handled: it cannot be reopened")


def to_hand_over(view: MissionView) -> list[int]:
    """The milestones a contract amendment can hand over to another expert: those still awaiting their deliverable."""
    return [m.number for m in view.milestones if m.stage is MilestoneStage.AWAITING_DELIVERABLE]


def check_reassign(view: MissionView, cmd: ReassignExpert, now: datetime) -> None:
    _ops(cmd.actor, "reassign an expert")
    if view.stage is Stage.DELIVERY:
        _check_handover(view, cmd, now)
        return
    if view.stage in (Stage.CONTRACT, Stage.FEEDBACK):
        raise ValueError(
            "the contract binds the selected expert: reassign during the delivery (by a contract amendment), or "
            "cancel through a dispute"
        )
    _stage(view, Stage.INVITATIONS, Stage.PROPOSALS, doing="reassign an expert")
    old = invitation(view, cmd.from_expert_id)
    if old is None or old.status not in ("pending", "accepted"):
        raise ValueError(f"expert {cmd.from_expert_id} is not taking part in this mission")
    if view.stage is Stage.PROPOSALS and not view.proposals_open:
        raise ValueError("the proposal window is closed")
    if invitation(view, cmd.to_expert_id) is not None:
        raise ValueError(f"expert {cmd.to_expert_id} was invited already")


def _check_handover(view: MissionView, cmd: ReassignExpert, now: datetime) -> None:
    """After the contract: the contractor's undelivered milestones pass to another expert by an amendment."""
    if cmd.from_expert_id != view.selected_expert_id:
        raise ValueError(f"from_expert_id: expert {cmd.from_expert_id} is not the mission's contractor")
    if cmd.to_expert_id == cmd.from_expert_id or cmd.to_expert_id in view.former_expert_ids:
        raise ValueError(f"to_expert_id: expert {cmd.to_expert_id} held this contract already")
    pending = view.pending_amendment()
    if pending is not None:  # ops may replace it by another until the new expert signed it
        signed = pending.contract is not None and any(s.party == "expert" for s in pending.contract.signatures)
        if signed or pending.to_expert_id == cmd.to_expert_id:
            raise ValueError(f"amendment {pending.number} to this expert is being signed: wait for it")
    reviewed = [m.number for m in view.milestones if m.stage is MilestoneStage.IN_REVIEW]
    if reviewed:
        numbers = ", ".join(str(n) for n in reviewed)
        raise ValueError(
            f"the deliverable of milestone {numbers} awaits the client's review: the client accepts it or asks for a "
            "revision first"
        )
    handed = to_hand_over(view)
    if not handed:
        raise ValueError("no milestone awaits its deliverable: there is nothing left to hand over")
    today = now.date()
    if cmd.due_date is not None and cmd.due_date <= today:
        raise ValueError(f"due_date: must be after today ({today.isoformat()})")
    late = [m.number for m in view.milestones if m.number in handed and m.due_date <= today]
    if late and cmd.due_date is None:
        raise ValueError(
            f"due_date: milestone {', '.join(str(n) for n in late)} is due by today: give the new expert a due date"
        )
