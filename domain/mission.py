"""What the mission workflows accept and show: update inputs (commands), state and views.

Every update takes one command carrying the `actor` who acts (built by the API from the authenticated
account) and returns the workflow's view. Payloads hold ids, hashes, amounts and short texts: never message
bodies or file bytes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field, computed_field

from domain.actors import Actor, Role
from domain.actors import Command as Command  # its home was here: the doors still import it from domain.mission
from domain.documents import IssuedDocument
from domain.money import Money
from domain.need import Language, Need
from domain.policy import Policy
from domain.shortlist import Candidate
from domain.stages import MilestoneStage, Stage
from domain.terms import MilestonePlan, ProposalTerms

Reason = str

# --- who may act -----------------------------------------------------------------------------------------


def is_client_member(actor: Actor, org_id: UUID) -> bool:
    return actor.role is Role.CLIENT and actor.org_id == org_id


def is_expert(actor: Actor, expert_id: UUID | None) -> bool:
    return actor.role is Role.EXPERT and expert_id is not None and actor.expert_id == expert_id


def is_ops(actor: Actor) -> bool:
    return actor.role is Role.OPS


# --- workflow inputs ---------------------------------------------------------------------------------------


class StartMission(BaseModel):
    mission_id: UUID
    client_org_id: UUID
    need: Need
    actor: Actor = Field(description="the client member who submits the need")
    policy: Policy = Policy()
    approval_threshold: Money | None = Field(
        default=None, description="the organisation's threshold when the need was posted: above it, an approver"
    )
    documents_task_queue: str | None = Field(default=None, description="None: the workflow's own queue")
    matching_task_queue: str | None = None
    search_attributes: bool = Field(
        default=True, description="upsert MissionStage & co; off on the time-skipping test server (unsupported)"
    )


class StartMilestone(BaseModel):
    mission_id: UUID
    number: int = Field(ge=1)
    plan: MilestonePlan
    currency: str
    contract_id: UUID
    client_org_id: UUID
    expert_id: UUID
    mission_title: str
    language: Language
    policy: Policy
    documents_task_queue: str | None = None
    search_attributes: bool = True


def mission_workflow_id(mission_id: UUID) -> str:
    return f"mission:{mission_id}"


def milestone_workflow_id(mission_id: UUID, number: int) -> str:
    return f"mission:{mission_id}:milestone:{number}"


# --- commands (update inputs) ----------------------------------------------------------------------------


class ReviseNeed(Command):
    need: Need


class QualifyNeed(Command):
    decision: Literal["approve", "reject", "ask_details"]
    reason: Reason = Field(default="", max_length=2000)


class ApproveBudget(Command):
    reason: Reason = Field(default="", max_length=2000)


class RejectBudget(Command):
    reason: Reason = Field(min_length=3, max_length=2000)
    outcome: Literal["revise", "cancel"] = Field(
        default="revise", description="revise: back to the buyer, who revises the need; cancel: the mission ends"
    )


class EditShortlist(Command):
    remove_expert_ids: list[UUID] = Field(min_length=1)


class InviteExpert(Command):
    """The client puts an expert they chose in the directory on the shortlist (a client pick)."""

    expert_id: UUID


class StartInvitations(Command):
    pass


class AnswerInvitation(Command):
    reason: Reason = Field(default="", max_length=2000)


class SubmitProposal(Command):
    terms: ProposalTerms


class WithdrawProposal(Command):
    reason: Reason = Field(default="", max_length=2000)


class SelectProposal(Command):
    expert_id: UUID


class RequestNewRound(Command):
    reason: Reason = Field(min_length=3, max_length=2000)


class SignContract(Command):
    expected_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="hash of the PDF the signer saw")


class RateParty(Command):
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=1000)


Settlement = Literal["keep", "credit"]


class AnswerRating(Command):
    """The rated party's public answer to the rating they received (once, after the ratings are revealed)."""

    reply: str = Field(min_length=1, max_length=1000)


class CancelMission(Command):
    reason: Reason = Field(min_length=3, max_length=2000)
    unpaid_invoices: Settlement = Field(
        default="keep",
        description="after the contract: the unpaid invoices stay due (keep) or are cancelled by credit notes (credit)",
    )


class Evidence(BaseModel):
    """A file uploaded as evidence (`POST /missions/{id}/evidence`): its id and hash, never its bytes."""

    document_id: UUID
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class OpenDispute(Command):
    reason: Reason = Field(min_length=3, max_length=5000, description="the statement of the party who opens it")
    milestone: int | None = Field(default=None, ge=1, le=50, description="the milestone disputed; none: the mission")
    evidence: list[Evidence] = Field(default_factory=list, max_length=20)


class PauseMission(Command):
    reason: Reason = Field(min_length=3, max_length=2000)


class ResumeMission(Command):
    reason: Reason = Field(default="", max_length=2000)


class ExtendDeadline(Command):
    key: str
    new_due: datetime
    reason: Reason = Field(default="", max_length=2000)


class ReassignExpert(Command):
    """Ops replace an expert. Before the contract: an invited or accepted expert by another. After it: the
    contractor, for the milestones not yet delivered, through a contract amendment the client and the new expert
    sign (the milestones accepted stay the first expert's, invoiced and paid to them)."""

    from_expert_id: UUID
    to_expert_id: UUID
    reason: Reason = Field(min_length=3, max_length=2000)
    due_date: date | None = Field(
        default=None,
        description="after the contract: the new due date of the milestones handed over, for those due earlier",
    )


class SubmitDeliverable(Command):
    document_id: UUID
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class AcceptDeliverable(Command):
    pass


class RequestRevision(Command):
    reason: Reason = Field(min_length=3, max_length=2000)


class ConfirmPayment(Command):
    paid_on: date
    reference: str = Field(default="", max_length=140)


class ReportNonPayment(Command):
    reason: Reason = Field(default="not received", min_length=3, max_length=2000)


class MilestoneSettlement(BaseModel):
    """Parent -> child signal: what a dispute decided for this milestone."""

    outcome: Literal["partial", "redo"]
    reason: Reason
    amount: Money | None = None
    new_due: datetime | None = None


class MilestoneHandover(BaseModel):
    """Parent -> child signal: a sealed contract amendment hands this milestone over to another expert."""

    expert_id: UUID
    contract_id: UUID = Field(description="the amendment: the new expert's invoice refers to it")
    due_date: date
    reason: Reason


class MilestoneHold(BaseModel):
    """Parent -> child signal: the mission is paused or disputed (hold) or running again."""

    held: bool
    reason: Reason = ""


# --- state and views -------------------------------------------------------------------------------------


class Deadline(BaseModel):
    key: str = Field(description="e.g. 'invitation:<expert>', 'proposals:1', 'signature', 'review:2'")
    kind: str
    due: datetime
    remind_at: datetime
    reminded: bool = False
    expired: bool = False
    escalations: int = 0


class PendingAction(BaseModel):
    key: str
    role: Role
    party_id: UUID | None = Field(description="org id (client), expert id (expert), None (ops)")
    action: str
    title: str = ""
    due: datetime | None = None
    deadline: str | None = Field(default=None, description="key of the deadline this action answers")


class Invitation(BaseModel):
    expert_id: UUID
    status: Literal["pending", "accepted", "declined", "expired", "withdrawn"] = "pending"
    invited_at: datetime
    answered_at: datetime | None = None


class Proposal(BaseModel):
    expert_id: UUID
    round: int
    terms: ProposalTerms
    total: Money
    status: Literal["submitted", "withdrawn", "selected"] = "submitted"
    submitted_at: datetime


class Signature(BaseModel):
    party: Literal["client", "expert"]
    user_id: UUID
    signed_at: datetime
    sha256: str
    recorded: bool = False


class ContractState(BaseModel):
    document: IssuedDocument
    signatures: list[Signature] = Field(default_factory=list)
    sealed: IssuedDocument | None = None

    def binds(self) -> bool:
        """The contract binds both parties once both signed it, whatever the mission's stage since."""
        return {s.party for s in self.signatures} >= {"client", "expert"}


class Amendment(BaseModel):
    """A contract amendment (workflows/handover.py): the milestones not yet delivered pass from one expert to
    another once the client and the new expert signed it and the platform sealed it."""

    number: int = Field(ge=1)
    from_expert_id: UUID
    to_expert_id: UUID
    reason: Reason
    milestones: list[int] = Field(description="the numbers of the milestones handed over")
    due_date: date | None = None
    contract: ContractState | None = Field(default=None, description="its document and signatures, once rendered")
    handed_over_at: datetime | None = None
    withdrawn_at: datetime | None = Field(
        default=None, description="ops replaced it by another before the new expert signed it (that expert declined)"
    )


class MilestoneView(BaseModel):
    workflow_id: str
    mission_id: UUID
    number: int
    title: str
    amount: Money
    due_date: date
    stage: MilestoneStage
    client_org_id: UUID
    expert_id: UUID
    deliverable_document_id: UUID | None = None
    deliverable_sha256: str | None = None
    revisions: int = 0
    accepted_at: datetime | None = None
    accepted_automatically: bool = False
    invoice: IssuedDocument | None = None
    invoice_due: date | None = None
    partial: bool = Field(default=False, description="accepted in part by a dispute's decision: invoiced `amount`")
    credit_note: IssuedDocument | None = Field(default=None, description="the credit note that cancelled the invoice")
    reminders: list[IssuedDocument] = Field(default_factory=list, description="payment reminders, with late charges")
    non_payment_reported_at: datetime | None = None
    paid_on: date | None = None
    held: bool = False
    attention_reason: str | None = None
    deadlines: list[Deadline] = Field(default_factory=list)
    pending_actions: list[PendingAction] = Field(default_factory=list)


class Rating(BaseModel):
    by: Literal["client", "expert"]
    score: int
    comment: str = ""
    at: datetime
    reply: str = Field(default="", description="the rated party's public answer (once)")
    replied_at: datetime | None = None


class CancelRequest(BaseModel):
    by: Literal["client", "expert"]
    reason: str
    unpaid_invoices: Settlement
    at: datetime


class MissionView(BaseModel):
    """The full state of a mission, as the `state` query and every update return it."""

    workflow_id: str
    mission_id: UUID
    client_org_id: UUID
    need: Need
    policy: Policy
    stage: Stage
    paused: bool = False
    paused_reason: str | None = None
    resume_stage: Stage | None = Field(default=None, description="where a dispute or repair returns to")
    attention_reason: str | None = None
    dispute_reason: str | None = None
    disputes: int = Field(default=0, description="disputes opened; the running one is `disputes` while disputed")
    cancel_request: CancelRequest | None = Field(
        default=None, description="after the contract: a party asked to cancel; the other party agrees by cancelling"
    )
    closed_reason: str | None = None
    approved_budget: Money | None = Field(default=None, description="the budget an approver approved")
    shortlist: list[Candidate] = Field(default_factory=list)
    reserve: list[Candidate] = Field(default_factory=list)
    removed_expert_ids: list[UUID] = Field(default_factory=list)
    invitations: list[Invitation] = Field(default_factory=list)
    proposal_round: int = 0
    proposals_open: bool = False
    proposals: list[Proposal] = Field(default_factory=list)
    selected_expert_id: UUID | None = None
    contract: ContractState | None = None
    amendments: list[Amendment] = Field(default_factory=list, description="contract amendments, in order")
    former_expert_ids: list[UUID] = Field(
        default_factory=list, description="contractors whose milestones an amendment handed over to another"
    )
    milestones: list[MilestoneView] = Field(
        default_factory=list,
        description="each milestone: live from the milestone in `GET /missions/{id}/state`; in a mission action's "
        "answer, as the mission last heard of it (the milestone tells it its acceptance, its invoice and its end)",
    )
    ratings: list[Rating] = Field(
        default_factory=list,
        description="double-blind: each party sees the other's rating only once both rated or the window closed",
    )
    ratings_revealed: bool = Field(default=False, description="both rated, or the feedback window closed")
    replies_until: datetime | None = Field(default=None, description="a revealed rating can be answered until then")
    deadlines: list[Deadline] = Field(default_factory=list)
    pending_actions: list[PendingAction] = Field(default_factory=list)
    started_at: datetime
    updated_at: datetime

    def expert_ids(self) -> list[UUID]:
        return [i.expert_id for i in self.invitations]

    def accepted_expert_ids(self) -> list[UUID]:
        return [i.expert_id for i in self.invitations if i.status == "accepted"]

    def participations(self) -> dict[UUID, str]:
        """Each expert's part in the mission (the read model's `mission_experts.status`, domain.visibility): their
        invitation's status, `handed_over` / `taking_over` for the outgoing / incoming expert of a handover,
        `selected` for the contractor."""
        parts: dict[UUID, str] = {i.expert_id: i.status for i in self.invitations}
        parts |= dict.fromkeys(self.former_expert_ids, "handed_over")
        pending = self.pending_amendment()
        if pending is not None:
            parts[pending.to_expert_id] = "taking_over"
        if self.selected_expert_id:
            parts[self.selected_expert_id] = "selected"
        return parts

    def pending_amendment(self) -> Amendment | None:
        """The amendment being signed (rendered, not yet sealed), if any."""
        last = self.amendments[-1] if self.amendments else None
        return last if last is not None and last.handed_over_at is None and last.withdrawn_at is None else None

    def to_sign(self) -> ContractState | None:
        """The document the parties sign now: the contract in its stage, else an amendment being signed."""
        if self.stage is Stage.CONTRACT:
            return self.contract
        pending = self.pending_amendment()
        return pending.contract if pending is not None else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def documents(self) -> list[IssuedDocument]:
        """The mission's documents, latest version of each: contract (sealed once sealed), invoices."""
        docs: list[IssuedDocument] = []
        if self.contract:
            docs.append(self.contract.sealed or self.contract.document)
        docs += [a.contract.sealed or a.contract.document for a in self.amendments if a.contract]
        docs += [m.invoice for m in self.milestones if m.invoice]
        docs += [m.credit_note for m in self.milestones if m.credit_note]
        return docs
