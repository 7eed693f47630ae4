"""Disputes: what DisputeWorkflow (workflows/dispute.py, `mission:{id}:dispute:{n}`) accepts and shows.

Either party of a signed (or signing) mission opens a dispute on one milestone or on the whole mission, with a
statement and evidence (files uploaded and content-checked like any document; the workflow holds their ids and
hashes). The other party answers within a deadline; ops mediate and decide. The decision's consequences are the
mission's (workflows/mission_disputes.py): a partial invoice, a redo with a new deadline, or the end of the mission
with its unpaid invoices cancelled by credit notes.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from domain.actors import Actor
from domain.mission import Command, Deadline, Evidence, PendingAction, Reason
from domain.money import Money
from domain.policy import Policy

Party = Literal["client", "expert"]
Outcome = Literal["continue", "partial", "redo", "end"]


class DisputeStage(StrEnum):
    AWAITING_ANSWER = "awaiting_answer"  # the other party has the deadline to answer
    MEDIATION = "mediation"  # answered (or the deadline passed): ops mediate and decide
    DECIDED = "decided"
    CANCELLED = "cancelled"  # the mission was cancelled meanwhile


class Statement(BaseModel):
    party: Party
    user_id: UUID
    text: str
    evidence: list[Evidence] = Field(default_factory=list)
    at: datetime


class AnswerDispute(Command):
    statement: str = Field(min_length=3, max_length=5000)
    evidence: list[Evidence] = Field(default_factory=list, max_length=20)


class DecideDispute(Command):
    outcome: Outcome
    reason: Reason = Field(min_length=3, max_length=2000)
    amount: Decimal | None = Field(
        default=None, gt=0, max_digits=14, decimal_places=2, description="partial: the accepted amount excl. tax"
    )
    new_due: datetime | None = Field(default=None, description="redo: the new deadline of the deliverable")


class Decision(BaseModel):
    outcome: Outcome
    reason: str
    amount: Decimal | None = None
    new_due: datetime | None = None
    actor: Actor
    at: datetime


class StartDispute(BaseModel):
    mission_id: UUID
    number: int = Field(ge=1)
    client_org_id: UUID
    expert_id: UUID
    opened: Statement
    milestone_number: int | None = None
    milestone_amount: Money | None = None
    milestone_accepted: bool = False
    milestone_paid: bool = False
    policy: Policy


class DisputeView(BaseModel):
    workflow_id: str
    mission_id: UUID
    number: int
    stage: DisputeStage
    client_org_id: UUID
    expert_id: UUID
    milestone_number: int | None = None
    milestone_amount: Money | None = None
    milestone_accepted: bool = False
    milestone_paid: bool = False
    opened: Statement
    answer: Statement | None = None
    decision: Decision | None = None
    deadlines: list[Deadline] = Field(default_factory=list)
    pending_actions: list[PendingAction] = Field(default_factory=list)

    @property
    def answering(self) -> Party:
        return "expert" if self.opened.party == "client" else "client"


def dispute_workflow_id(mission_id: UUID, number: int) -> str:
    return f"mission:{mission_id}:dispute:{number}"


def check_decision(view: DisputeView, cmd: DecideDispute, now: datetime) -> None:
    """Why ops may not take this decision now (ValueError), pure."""
    if view.stage is not DisputeStage.MEDIATION:
        raise ValueError(f"the dispute is {view.stage.value}: ops decide once it is in mediation")
    if cmd.outcome in ("partial", "redo"):
        if view.milestone_number is None:
            raise ValueError(f"{cmd.outcome}: the dispute is about the whole mission, not a milestone")
        if view.milestone_paid:
            raise ValueError(f"{cmd.outcome}: milestone {view.milestone_number} is paid already")
        if cmd.outcome == "redo" and view.milestone_accepted:
            raise ValueError(
                f"redo: milestone {view.milestone_number} is accepted already (decide a partial acceptance)"
            )
    if cmd.outcome == "partial":
        limit = view.milestone_amount.amount if view.milestone_amount else Decimal(0)
        if cmd.amount is None:
            raise ValueError("amount: a partial acceptance needs the accepted amount")
        if cmd.amount > limit:
            raise ValueError(f"amount: {cmd.amount} is more than the milestone's {limit}")
    elif cmd.amount is not None:
        raise ValueError("amount: only a partial acceptance has an amount")
    if cmd.outcome == "redo":
        if cmd.new_due is None or cmd.new_due.tzinfo is None or cmd.new_due <= now:
            raise ValueError("new_due: a redo needs a new deadline in the future (timezone-aware)")
    elif cmd.new_due is not None:
        raise ValueError("new_due: only a redo has a new deadline")
