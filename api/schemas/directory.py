"""What the directory answers: an expert's profile as clients see it (what the expert made public), and a page."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, Field

from domain.directory import PortfolioEntry


class Reputation(BaseModel):
    rating: Decimal = Field(description="average of the clients' ratings (revealed ones), out of 5")
    ratings_count: int
    completed_missions: int


class SkillHeld(BaseModel):
    skill: str
    level: str | None = Field(description="working | advanced | expert; null: not said")


class ExpertCard(BaseModel):
    """A profile in the directory: name, country, business functions and reputation always; each other part only
    when the expert made it public (absent otherwise)."""

    id: UUID
    display_name: str
    country: str
    business_functions: list[str]
    reputation: Reputation
    public_fields: list[str]
    headline: str | None = None
    skills: list[SkillHeld] | None = None
    languages: list[str] | None = None
    countries: list[str] | None = Field(default=None, description="on-site work possible there")
    remote: bool | None = None
    daily_rate: Decimal | None = None
    currency: str | None = None
    available_from: date | None = None
    available_days_per_week: int | None = None
    has_cv: bool | None = None
    portfolio: list[PortfolioEntry] | None = Field(default=None, description="in the profile, not in the list")


class ExpertPage(BaseModel):
    items: list[ExpertCard]
    total: int
    limit: int
    offset: int
