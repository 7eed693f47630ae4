"""Typed inputs and outputs of the activities shared between the mission workflows and the matching and
documents capabilities. One pydantic model in, one out (STYLE.md). Payloads carry ids and hashes, never bytes,
never message bodies."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from domain.money import Currency, Money
from domain.need import Language, Need

# --- matching -------------------------------------------------------------------------------------------


class ShortlistRequest(BaseModel):
    mission_id: UUID
    client_org_id: UUID
    need: Need
    exclude_expert_ids: list[UUID] = Field(default_factory=list, description="declined or removed already")
    size: int = 5
    reserve_size: int = 15


class Candidate(BaseModel):
    expert_id: UUID
    score: float
    contributions: dict[str, float] = Field(
        default_factory=dict, description="criterion -> contribution to the score; empty in the reserve"
    )
    explanation_fr: str = Field(default="", description="why this expert, in French; empty in the reserve")
    explanation_en: str = Field(default="", description="why this expert, in English; empty in the reserve")


class Shortlist(BaseModel):
    candidates: list[Candidate] = Field(description="what the client reviews, each candidate explained")
    reserve: list[Candidate] = Field(
        description="in order, for invitation backfill: each expert and score, not explained (nobody reviews the "
        "reserve; explained, it was most of a mission's state, carried by every action's answer)"
    )


# --- proposals and contracts ----------------------------------------------------------------------------


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


class ContractRequest(BaseModel):
    mission_id: UUID
    client_org_id: UUID
    expert_id: UUID
    mission_title: str
    language: Language
    confidential: bool
    terms: ProposalTerms
    total: Money


class IssuedDocument(BaseModel):
    document_id: UUID
    kind: Literal["contract", "mission_invoice", "fee_invoice", "credit_note", "payment_reminder"]
    sha256: str
    number: str | None = None


class SignContractRequest(BaseModel):
    mission_id: UUID
    contract_id: UUID
    party: Literal["client", "expert"]
    signer_user_id: UUID
    signed_at: datetime
    expected_sha256: str = Field(description="hash of the PDF the signer saw; refused if it changed since")


class SealContractRequest(BaseModel):
    mission_id: UUID
    contract_id: UUID


class MissionInvoiceRequest(BaseModel):
    mission_id: UUID
    milestone_id: str = Field(description="idempotency key: mission:{id}:milestone:{n}")
    contract_id: UUID
    expert_id: UUID
    client_org_id: UUID
    description: str
    amount: Money = Field(description="milestone amount excluding tax")
    service_date: date
    issue_date: date
    due_days: int = 30
    language: Language


class IssuedInvoice(IssuedDocument):
    total_excl_tax: Money
    total_incl_tax: Money
    due_date: date
