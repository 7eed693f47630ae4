"""Memberships: the statuses and their allowed moves, the payment policy, the commands and the state of
MembershipWorkflow, and the inputs of the activities it calls. Pure code: no I/O, no clock.

A membership lives in terms of one year. Each term has one fee invoice at the price of the fee schedule
version in force when the term starts; the member keeps that price for the whole term.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.actors import Actor, Role
from domain.money import Currency, Money
from domain.onboarding import OnboardingPolicy, OnboardingView

Community = Literal["client_organisation", "expert"]


class MembershipStatus(StrEnum):
    """The status the API checks (Membership.status): only an active member opens or accepts missions."""

    PENDING = "pending"  # registered, first fee not paid yet
    ACTIVE = "active"  # fee of the current term paid (or renewal invoice still within its payment period)
    LAPSED = "lapsed"  # fee unpaid past the lapse delay: no new missions (running missions continue)


ALLOWED: dict[MembershipStatus, frozenset[MembershipStatus]] = {
    MembershipStatus.PENDING: frozenset({MembershipStatus.ACTIVE, MembershipStatus.LAPSED}),
    MembershipStatus.ACTIVE: frozenset({MembershipStatus.LAPSED}),
    # a late payment (confirmed by ops) reactivates the member for the rest of the term
    MembershipStatus.LAPSED: frozenset({MembershipStatus.ACTIVE}),
}


def can_move(frm: MembershipStatus, to: MembershipStatus) -> bool:
    return to in ALLOWED[frm]


def membership_workflow_id(member_id: UUID) -> str:
    return f"membership:{member_id}"


class FeeSchedule(BaseModel):
    """One version of the yearly registration fees (the settings' `fees`); a member keeps the version of the term it
    signed. The defaults are the platform's fees of 2026."""

    model_config = ConfigDict(frozen=True)

    version: str = "2026-01"
    currency: Currency = "EUR"
    client_organisation: Decimal = Decimal("480.00")
    expert: Decimal = Decimal("120.00")
    vat_rate: Decimal = Decimal("20.00")

    def fee(self, community: Community) -> Money:
        return Money(amount=getattr(self, community), currency=self.currency)


class MembershipPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    reminders: tuple[timedelta, ...] = Field(
        default=(timedelta(days=7), timedelta(days=14)), description="after the fee invoice is issued"
    )
    lapse_after: timedelta = Field(default=timedelta(days=30), description="unpaid this long after the invoice")
    invoice_due_days: int = Field(default=30, ge=0, le=60)


def add_year(day: date) -> date:
    """Same day next year (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


# --- workflow input, commands, state ----------------------------------------------------------------------


class StartMembership(BaseModel):
    member_id: UUID
    community: Community
    language: Literal["fr", "en"] = "fr"
    schedule: FeeSchedule | None = Field(
        default=None,
        description="the schedule signed at registration; None at a renewal: the term takes the one in force",
    )
    term: int = Field(default=1, ge=1, description="term number, 1 at registration, +1 at each renewal")
    term_start: date | None = Field(default=None, description="None: today (workflow time)")
    status: MembershipStatus = MembershipStatus.PENDING
    policy: MembershipPolicy = MembershipPolicy()
    documents_task_queue: str | None = None
    onboarding: OnboardingView | None = Field(
        default=None, description="carried over a renewal; None: a new member is vetted first (term 1, pending)"
    )
    onboarding_policy: OnboardingPolicy = OnboardingPolicy()


class ConfirmFeePayment(BaseModel):
    """Ops confirm that the fee of the current term was received (bank statement)."""

    actor: Actor
    invoice_number: str
    paid_on: date
    reference: str = Field(default="", max_length=200, description="bank reference, for the audit trail")


class Term(BaseModel):
    """What the term-starting activity fixed for this term (kept for the whole term)."""

    membership_id: UUID
    number: int
    start: date
    end: date
    schedule_version: str
    fee: Money


class FeeInvoice(BaseModel):
    number: str
    document_id: UUID
    total_excl_tax: Money
    total_incl_tax: Money
    due_date: date
    issued_at: datetime


class MembershipView(BaseModel):
    """The `state` query and the answer of every update."""

    workflow_id: str
    member_id: UUID
    community: Community
    status: MembershipStatus
    term: Term | None = None
    invoice: FeeInvoice | None = None
    paid_on: date | None = None
    reminders_sent: int = 0
    lapse_at: datetime | None = None
    renewal_at: datetime | None = None
    onboarding: OnboardingView = Field(default_factory=OnboardingView, description="the review of its legal data")


def check_confirm(view: MembershipView, cmd: ConfirmFeePayment, now: datetime) -> None:
    """Why ops may not confirm this payment now (ValueError), or nothing."""
    if cmd.actor.role is not Role.OPS:
        raise ValueError("only platform staff (ops) confirm a fee payment")
    if view.invoice is None:
        raise ValueError("the fee invoice of this term is not issued yet")
    if view.paid_on is not None:
        raise ValueError(f"the fee of this term was already paid on {view.paid_on.isoformat()}")
    if cmd.invoice_number != view.invoice.number:
        raise ValueError(f"invoice {cmd.invoice_number} is not the open fee invoice ({view.invoice.number})")
    if cmd.paid_on < view.invoice.issued_at.date():
        raise ValueError("the payment date is before the invoice was issued")
    if cmd.paid_on > now.date():
        raise ValueError("the payment date is in the future")


# --- activity inputs (the fee invoice's are in domain.documents) -------------------------------------------


class StartTermRequest(BaseModel):
    member_id: UUID
    community: Community
    term: int
    term_start: date
    schedule: FeeSchedule | None = Field(description="None: the settings' schedule in force now")


class MembershipProjection(BaseModel):
    """The Membership row (and Expert.membership_active) after a change; applied idempotently."""

    workflow_id: str
    member_id: UUID
    community: Community
    status: MembershipStatus
    term: Term
