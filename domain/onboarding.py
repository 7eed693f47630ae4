"""Onboarding and the review of a member's legal data: the steps, their deadlines, the commands of
MembershipWorkflow that move them, and what the read model keeps of them. Pure code: no I/O, no clock.

A member (client organisation or expert) is vetted before its first fee invoice: it completes its legal data and
uploads its proof documents, then submits them (one *legal version*); ops check identity, registry number, VAT or
tax id and bank details against the proofs, and approve the version or ask for changes with a reason (the member
fixes and submits again). Only then is the fee invoiced, and only a paid member is active (an expert is matched
only then). Later changes of the legal data go through the same review: until ops approve it, the approved version
stays the one invoices use; issued invoices keep the data they were issued with (their snapshot).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.actors import Actor, Command, Role


class OnboardingStatus(StrEnum):
    """Where the review of the member's legal data stands (Membership.onboarding_status)."""

    PROFILE = "profile"  # the member completes its legal data and documents, then submits
    AWAITING_REVIEW = "awaiting_review"  # submitted: ops check it
    CHANGES_REQUESTED = "changes_requested"  # ops asked for changes (with a reason): the member fixes and resubmits
    APPROVED = "approved"  # the last submitted version is approved (a change may be submitted again later)
    EXPIRED = "expired"  # the member did not submit in time: the onboarding ended (registering again restarts it)


# A document kind -> what it proves (shown to the member and to ops).
PROOF_KINDS: dict[str, str] = {
    "identity": "identity document of the person (passport, identity card)",
    "registry_extract": "company registry extract (Kbis, Handelsregister...) or business registration",
    "bank_details": "bank account details (RIB) in the member's legal name",
    "other": "any other proof ops asked for",
}
ProofKind = Literal["identity", "registry_extract", "bank_details", "other"]
REQUIRED_PROOFS: dict[str, tuple[str, ...]] = {
    "expert": ("identity", "registry_extract", "bank_details"),
    "client_organisation": ("registry_extract",),
}


class OnboardingPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    submit_within: timedelta = Field(default=timedelta(days=30), description="from registration, to submit")
    resubmit_within: timedelta = Field(default=timedelta(days=14), description="after ops asked for changes")
    review_within: timedelta = Field(default=timedelta(days=3), description="for ops, after each submission")
    remind_before: timedelta = Field(default=timedelta(days=3), description="before the member's deadline")

    def reminder(self, span: timedelta) -> timedelta:
        """Never more than half the span before the deadline."""
        return min(self.remind_before, span / 2)


# --- commands (workflow updates) ------------------------------------------------------------------------------


class SubmitLegalData(Command):
    """The member submits one version of its legal data (stored by the API, under review from now on)."""

    version_id: UUID
    version: int = Field(ge=1)


class ApproveLegalData(Command):
    version_id: UUID
    note: str = Field(default="", max_length=500)


class RequestLegalChanges(Command):
    version_id: UUID
    reason: str = Field(min_length=3, max_length=1000, description="what the member must fix; shown to the member")


class OnboardingView(BaseModel):
    """The onboarding part of MembershipView; carried over a renewal (continue-as-new)."""

    status: OnboardingStatus = OnboardingStatus.PROFILE
    version_id: UUID | None = Field(default=None, description="the version under review or last reviewed")
    version: int | None = None
    approved_version: int | None = Field(default=None, description="the version invoices use")
    reason: str = Field(default="", description="why ops asked for changes")
    due: datetime | None = Field(default=None, description="the deadline of the step under way")
    remind_at: datetime | None = Field(default=None, description="when the member is reminded of its deadline")
    reminded: bool = False
    late_told: bool = Field(default=False, description="ops were told that the review is late")
    open_tasks: list[str] = Field(default_factory=list, description="the inbox tasks the step opened")
    rounds: int = Field(default=0, description="submissions so far")
    approved_at: datetime | None = None


def check_submit(view: OnboardingView, cmd: SubmitLegalData, member_id: UUID) -> None:
    if cmd.actor.role is Role.OPS or member_id not in (cmd.actor.org_id, cmd.actor.expert_id):
        raise ValueError("only the member submits its own legal data")
    if view.status is OnboardingStatus.AWAITING_REVIEW:
        raise ValueError(f"version {view.version} is already under review: wait for ops' answer")
    if view.status is OnboardingStatus.EXPIRED:
        raise ValueError("the onboarding expired: register again")
    if view.version is not None and cmd.version <= view.version:
        raise ValueError(f"version {cmd.version} is not newer than version {view.version}")


def check_review(view: OnboardingView, actor: Actor, version_id: UUID) -> None:
    if actor.role is not Role.OPS:
        raise ValueError("only platform staff (ops) review a member's legal data")
    if view.status is not OnboardingStatus.AWAITING_REVIEW:
        raise ValueError(f"nothing to review: the onboarding is {view.status.value}")
    if version_id != view.version_id:
        raise ValueError(f"version {version_id} is not the one under review (version {view.version})")


# --- what the read model keeps --------------------------------------------------------------------------------


class OnboardingTask(BaseModel):
    key: str
    role: Literal["client", "expert", "ops"]
    party_id: UUID | None
    action: str
    title: str
    due_at: datetime | None = None


class OnboardingProjection(BaseModel):
    """The member's onboarding columns of its Membership row, the legal version's review, and the inbox tasks the
    step opens and closes; applied idempotently (by the member's row and the tasks' keys)."""

    workflow_id: str
    member_id: UUID
    community: Literal["client_organisation", "expert"]
    status: OnboardingStatus
    due: datetime | None = None
    reason: str = ""
    at: datetime
    review: Literal["approved", "changes_requested"] | None = Field(
        default=None, description="the decision on `version_id` to record (approved: the version is applied)"
    )
    version_id: UUID | None = None
    reviewer_user_id: UUID | None = None
    open_tasks: list[OnboardingTask] = Field(default_factory=list)
    close_tasks: list[str] = Field(default_factory=list)
