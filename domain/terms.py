"""What an expert proposes and the contract locks: the approach, the price and the milestones."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from domain.money import Currency, Money


class MilestonePlan(BaseModel):
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=5000)
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2, description="excluding tax")
    due_date: date


class ProposalTerms(BaseModel):
    approach: str = Field(min_length=10, max_length=20_000)
    pricing: Literal["fixed", "daily"]
    daily_rate: Decimal | None = Field(default=None, gt=0, max_digits=14, decimal_places=2)
    days: Decimal | None = Field(default=None, gt=0, max_digits=6, decimal_places=1)
    currency: Currency = "EUR"
    milestones: list[MilestonePlan] = Field(min_length=1, max_length=20)


def proposal_total(terms: ProposalTerms) -> Money:
    """The contract price: the sum of the milestone amounts (they must add up to the price)."""
    return Money(amount=sum((m.amount for m in terms.milestones), Decimal("0")), currency=terms.currency)
