"""What the workflows write to the read model (`ReadModelActivities.write_read_model`): timeline events with the
rows and tasks they change, ratings, notices, ops audit entries and membership rows. Ids, stages and short texts
only."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from domain.membership import MembershipProjection
from domain.onboarding import OnboardingProjection


class TaskSpec(BaseModel):
    key: str
    role: Literal["client", "expert", "ops"]
    party_id: UUID | None = None
    action: str
    title: str
    due_at: datetime | None = None


class MissionRow(BaseModel):
    mission_id: UUID
    client_org_id: UUID
    title: str
    business_function: str
    stage: str
    paused: bool = False
    selected_expert_id: UUID | None = None
    next_deadline: datetime | None = None
    closed_reason: str | None = None
    experts: dict[str, str] = Field(default_factory=dict, description="expert id -> participation status")


class MilestoneRow(BaseModel):
    mission_id: UUID
    number: int
    title: str
    amount: Decimal
    currency: str
    stage: str
    invoice_number: str | None = None
    invoice_due: date | None = None
    paid_on: date | None = None


class Projection(BaseModel):
    workflow_id: str
    seq: int
    mission_id: UUID
    at: datetime
    kind: str
    stage: str
    summary: str = ""
    actor_user_id: UUID | None = None
    actor_role: str | None = None
    details: dict[str, str] = Field(default_factory=dict)
    mission: MissionRow | None = None
    milestone: MilestoneRow | None = None
    open_tasks: list[TaskSpec] = Field(default_factory=list)
    close_tasks: list[str] = Field(default_factory=list, description="task keys; '*' closes every open task")
    outcome: str | None = None


class RatingRecord(BaseModel):
    mission_id: UUID
    by: Literal["client", "expert"]
    expert_id: UUID
    client_org_id: UUID
    score: int
    comment: str = ""
    at: datetime


class RatingsRevealed(BaseModel):
    """The mission's ratings are shown to both parties now (both rated, or the feedback window closed): each counts
    in the rated party's reputation, and the expert has one more completed mission."""

    mission_id: UUID
    expert_id: UUID
    client_org_id: UUID
    at: datetime


class RatingReply(BaseModel):
    """The rated party's public answer to the rating given `by` the other party."""

    mission_id: UUID
    by: Literal["client", "expert"] = Field(description="who gave the rating answered")
    reply: str
    at: datetime


class NoticeRequest(BaseModel):
    workflow_id: str
    key: str = Field(description="unique per workflow: a retry with the same key is a no-op")
    mission_id: UUID
    role: Literal["client", "expert", "ops"]
    party_id: UUID | None = None
    kind: str = Field(description="e.g. reminder, deadline_expired, late_payment_notice, pool_exhausted")
    params: dict[str, str] = Field(default_factory=dict)


class AuditRecord(BaseModel):
    """The audit entry of an ops action the workflow accepted (who, what, why, when, and how it ended)."""

    at: datetime
    actor_user_id: UUID
    action: str
    target: str
    reason: str = ""
    details: dict[str, object] = Field(default_factory=dict)


class ReadModelWrite(BaseModel):
    """One write of a workflow to the read model, applied in one transaction. Each part keeps its own idempotency
    key (an event its workflow id and seq, a notice its key, a rating its mission and side, an audit entry its
    target, time and action, a membership its member), so a retried write changes nothing twice."""

    event: Projection | None = None
    rating: RatingRecord | None = Field(default=None, description="given by the event")
    reveal: RatingsRevealed | None = Field(default=None, description="the event reveals the ratings (needs an event)")
    reply: RatingReply | None = Field(default=None, description="the event answers a rating")
    notices: list[NoticeRequest] = Field(default_factory=list, description="told to a party (e-mail and portal)")
    audit: AuditRecord | None = None
    membership: MembershipProjection | None = None
    onboarding: OnboardingProjection | None = Field(default=None, description="a member's onboarding or legal review")
