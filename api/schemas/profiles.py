"""Read and update models of organisations, expert profiles and the audit log."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.schemas.accounts import Country, LanguageCode
from domain.directory import MAX_PORTFOLIO, PUBLIC_FIELDS, PortfolioEntry, PublicField
from domain.money import Currency
from domain.taxonomy import SkillKey, SkillKeys, SkillLevel


class OrganisationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    legal_name: str
    legal_form: str
    country: str
    siren: str | None
    siret: str | None
    vat_number: str | None
    address_line: str
    postcode: str
    city: str
    billing_email: str


class MemberRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    full_name: str
    email: str


class ExpertProfileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    display_name: str
    legal_name: str
    headline: str
    country: str
    timezone: str
    business_functions: list[str]
    skills: list[str]
    languages: list[str]
    countries: list[str]
    remote: bool
    daily_rate: Decimal
    currency: str
    available_from: date
    available_days_per_week: int
    vat_regime: str
    rating: Decimal
    ratings_count: int
    completed_missions: int
    membership_active: bool
    billing_mandate_accepted_on: date | None
    skill_levels: dict[str, str] = Field(description="skill -> working | advanced | expert")
    public_fields: list[str] = Field(description="what clients see in the directory, beyond name and reputation")
    cv_document_id: UUID | None
    portfolio: list[PortfolioEntry] = Field(default_factory=list)


class ExpertProfileUpdate(BaseModel):
    """Fields an expert may change at any time; legal data (on invoices) change through a review by ops
    (`PUT /onboarding/me/legal`, then `POST /onboarding/me/submit`)."""

    model_config = ConfigDict(extra="forbid")

    headline: str | None = Field(default=None, max_length=300)
    skills: SkillKeys | None = Field(default=None, min_length=1, max_length=40, description="taxonomy keys or synonyms")
    languages: list[LanguageCode] | None = Field(default=None, min_length=1, max_length=10)
    countries: list[Country] | None = Field(default=None, max_length=50)
    remote: bool | None = None
    daily_rate: Decimal | None = Field(default=None, gt=0, max_digits=14, decimal_places=2)
    currency: Currency | None = None
    available_from: date | None = None
    available_days_per_week: int | None = Field(default=None, ge=1, le=7)
    skill_levels: dict[SkillKey, SkillLevel] | None = Field(
        default=None, description="a level for skills of the profile (taxonomy keys or synonyms)"
    )
    public_fields: list[PublicField] | None = Field(
        default=None, description=f"what clients see in the directory, among {', '.join(PUBLIC_FIELDS)}"
    )
    portfolio: list[PortfolioEntry] | None = Field(default=None, max_length=MAX_PORTFOLIO, description="replaces it")

    @model_validator(mode="after")
    def _no_explicit_null(self) -> Self:
        """Every profile field has a value: leaving a field out keeps it, null cannot clear it."""
        for name in sorted(self.model_fields_set):
            if getattr(self, name) is None:
                raise ValueError(f"{name}: may not be null; leave the field out to keep its current value")
        return self


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    at: datetime
    actor_user_id: UUID | None
    action: str
    target: str
    reason: str
    details: dict[str, object]
