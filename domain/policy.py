"""Delays of a mission: platform defaults, stored with each mission when it starts (a later change of the
defaults never moves a running mission's deadlines)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field


class Policy(BaseModel):
    model_config = ConfigDict(frozen=True)

    qualification_required: bool = Field(default=False, description="ops qualify every need before matching")
    approval: timedelta = Field(default=timedelta(days=3), description="an approver answers a budget above threshold")
    invitation_answer: timedelta = timedelta(hours=72)
    proposals: timedelta = timedelta(days=7)
    selection: timedelta = timedelta(days=14)
    signature: timedelta = timedelta(days=7)
    review: timedelta = timedelta(days=10)
    feedback: timedelta = timedelta(days=14)
    dispute_answer: timedelta = Field(default=timedelta(days=7), description="the other party answers a dispute")
    invoice_due_days: int = Field(default=30, ge=0, le=60, description="French law caps at 60 days")
    reminder_before: timedelta = Field(default=timedelta(hours=24), description="reminder before any deadline")
    late_payment_reminders: int = Field(default=2, ge=0, le=10, description="overdue reminders after the notice")
    late_payment_every: timedelta = timedelta(days=7)
    target_accepted: int = Field(default=3, ge=1, le=10, description="experts to accept before proposals")
    shortlist_size: int = Field(default=5, ge=1, le=20)
    reserve_size: int = Field(default=15, ge=0, le=50)
    revision_rounds: int = Field(default=2, ge=0, le=10)
    proposal_rounds: int = Field(default=3, ge=1, le=10)

    def reminder_for(self, span: timedelta) -> timedelta:
        """How long before a deadline to remind: the policy's lead, but never more than half the span."""
        return min(self.reminder_before, span / 2)


DEFAULT_POLICY = Policy()
