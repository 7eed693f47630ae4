"""What a mission's steps build, pure: the tasks each party is asked to do (the inbox), the requests to the other
capabilities (matching, documents), the milestones it starts, the signatures and ratings it records."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from domain.actors import Role
from domain.documents import AmendmentRequest, ContractRequest, SealContractRequest, SignContractRequest
from domain.mission import (
    Amendment,
    ContractState,
    Deadline,
    MilestoneView,
    MissionView,
    PendingAction,
    RateParty,
    Rating,
    Signature,
    SignContract,
    StartMilestone,
    StartMission,
)
from domain.money import Money
from domain.org_roles import need_budget
from domain.shortlist import Candidate, ExposureRecord, ShortlistRequest
from domain.stages import MilestoneStage
from domain.terms import MilestonePlan
from workflows.mission_rules import selected_proposal, signing_party

# --- task builders ------------------------------------------------------------------------------------------


def qualify_task() -> PendingAction:
    return ops_task("qualify", "qualify_need", "Qualify the need")


def approval_task(view: MissionView, deadline: Deadline) -> PendingAction:
    budget = need_budget(view.need)
    title = f"Approve the budget of {budget.amount} {budget.currency}"
    return client_task(view, "approve_budget", title, deadline)


def ops_task(key: str, action: str, title: str) -> PendingAction:
    return PendingAction(key=key, role=Role.OPS, party_id=None, action=action, title=title[:300])


def client_task(
    view: MissionView, key: str, title: str, deadline: Deadline | None = None, *, action: str | None = None
) -> PendingAction:
    return PendingAction(
        key=key,
        role=Role.CLIENT,
        party_id=view.client_org_id,
        action=action or key,
        title=title,
        due=deadline.due if deadline else None,
        deadline=deadline.key if deadline else None,
    )


def expert_task(
    expert_id: UUID | None, key: str, action: str, title: str, deadline: Deadline | None = None
) -> PendingAction:
    return PendingAction(
        key=key,
        role=Role.EXPERT,
        party_id=expert_id,
        action=action,
        title=title,
        due=deadline.due if deadline else None,
        deadline=deadline.key if deadline else None,
    )


def proposal_task(expert_id: UUID, round_: int, deadline: Deadline) -> PendingAction:
    return expert_task(expert_id, f"proposal:{round_}:{expert_id}", "submit_proposal", "Submit a proposal", deadline)


def initial_milestone(workflow_id: str, start: StartMilestone) -> MilestoneView:
    return MilestoneView(
        workflow_id=workflow_id,
        mission_id=start.mission_id,
        number=start.number,
        title=start.plan.title,
        amount=Money(amount=start.plan.amount, currency=start.currency),
        due_date=start.plan.due_date,
        stage=MilestoneStage.AWAITING_DELIVERABLE,
        client_org_id=start.client_org_id,
        expert_id=start.expert_id,
    )


# --- what the mission asks the other capabilities -----------------------------------------------------------


def shortlist_request(view: MissionView) -> ShortlistRequest:
    return ShortlistRequest(
        mission_id=view.mission_id,
        client_org_id=view.client_org_id,
        need=view.need,
        exclude_expert_ids=[*view.removed_expert_ids, *view.expert_ids()],
        size=view.policy.shortlist_size,
        reserve_size=view.policy.reserve_size,
    )


def exposure_record(view: MissionView, shortlist: list[Candidate], now: datetime) -> ExposureRecord:
    """The experts the shortlist puts in front of the client, for fair exposure."""
    return ExposureRecord(mission_id=view.mission_id, expert_ids=[c.expert_id for c in shortlist], at=now)


def busy_until(view: MissionView) -> date:
    """The day the signed mission's last milestone is due: the expert's availability follows (the directory)."""
    return max(m.due_date for m in selected_proposal(view).terms.milestones)


def contract_request(view: MissionView) -> ContractRequest:
    proposal = selected_proposal(view)
    return ContractRequest(
        mission_id=view.mission_id,
        client_org_id=view.client_org_id,
        expert_id=proposal.expert_id,
        mission_title=view.need.title,
        language=view.need.mission_language,
        confidential=view.need.confidential,
        terms=proposal.terms,
        total=proposal.total,
    )


def amendment_request(view: MissionView, amendment: Amendment) -> AmendmentRequest:
    """The amendment handing `amendment.milestones` over: each as planned, due no earlier than its new due date."""
    assert view.contract is not None
    plans = selected_proposal(view).terms.milestones
    milestones = {m.number: m for m in view.milestones}
    return AmendmentRequest(
        mission_id=view.mission_id,
        number=amendment.number,
        amends_contract_id=view.contract.document.document_id,
        client_org_id=view.client_org_id,
        from_expert_id=amendment.from_expert_id,
        expert_id=amendment.to_expert_id,
        mission_title=view.need.title,
        language=view.need.mission_language,
        reason=amendment.reason,
        numbers=amendment.milestones,
        milestones=[
            MilestonePlan(
                title=milestones[n].title,
                description=plans[n - 1].description,
                amount=milestones[n].amount.amount,
                due_date=max(milestones[n].due_date, amendment.due_date or milestones[n].due_date),
            )
            for n in amendment.milestones
        ],
        currency=selected_proposal(view).terms.currency,
    )


def sign_request(view: MissionView, contract: ContractState, sig: Signature) -> SignContractRequest:
    return SignContractRequest(
        mission_id=view.mission_id,
        contract_id=contract.document.document_id,
        party=sig.party,
        signer_user_id=sig.user_id,
        signed_at=sig.signed_at,
        expected_sha256=sig.sha256,
    )


def seal_request(view: MissionView, contract: ContractState) -> SealContractRequest:
    return SealContractRequest(mission_id=view.mission_id, contract_id=contract.document.document_id)


def milestone_starts(view: MissionView, inp: StartMission) -> list[StartMilestone]:
    """What each milestone child of the mission starts with, from the selected proposal and the signed contract."""
    proposal, contract = selected_proposal(view), view.contract
    assert contract is not None
    return [
        StartMilestone(
            mission_id=view.mission_id,
            number=n,
            plan=plan,
            currency=proposal.terms.currency,
            contract_id=contract.document.document_id,
            client_org_id=view.client_org_id,
            expert_id=proposal.expert_id,
            mission_title=view.need.title,
            language=view.need.mission_language,
            policy=view.policy,
            documents_task_queue=inp.documents_task_queue,
            search_attributes=inp.search_attributes,
        )
        for n, plan in enumerate(proposal.terms.milestones, start=1)
    ]


# --- what the actions record -------------------------------------------------------------------------------


def new_signature(party: Literal["client", "expert"], cmd: SignContract, now: datetime) -> Signature:
    return Signature(party=party, user_id=cmd.actor.user_id, signed_at=now, sha256=cmd.expected_sha256)


def new_rating(cmd: RateParty, now: datetime) -> Rating:
    return Rating(by=signing_party(cmd.actor), score=cmd.score, comment=cmd.comment, at=now)
