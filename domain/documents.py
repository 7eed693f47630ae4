"""The documents the platform issues (contracts, invoices, credit notes) as the processes see them: what they ask
the documents activities for, and what comes back. Ids and hashes, never bytes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from domain.membership import Community
from domain.money import Money
from domain.need import Language
from domain.terms import MilestonePlan, ProposalTerms


class IssuedDocument(BaseModel):
    document_id: UUID
    kind: Literal["contract", "mission_invoice", "fee_invoice", "credit_note", "payment_reminder"]
    sha256: str
    number: str | None = None


class IssuedInvoice(IssuedDocument):
    total_excl_tax: Money
    total_incl_tax: Money
    due_date: date


# --- contracts ----------------------------------------------------------------------------------------------


class ContractRequest(BaseModel):
    mission_id: UUID
    client_org_id: UUID
    expert_id: UUID
    mission_title: str
    language: Language
    confidential: bool
    terms: ProposalTerms
    total: Money


class AmendmentRequest(BaseModel):
    """A contract amendment: the milestones `numbers` (their plans as amended) pass from `from_expert_id` to the
    request's expert; it amends the contract `amends_contract_id`."""

    mission_id: UUID
    number: int = Field(ge=1)
    amends_contract_id: UUID
    client_org_id: UUID
    from_expert_id: UUID
    expert_id: UUID
    mission_title: str
    language: Language
    reason: str
    numbers: list[int]
    milestones: list[MilestonePlan]
    currency: str


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


# --- invoices -----------------------------------------------------------------------------------------------


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


class FeeInvoiceRequest(BaseModel):
    membership_id: UUID
    term_key: str = Field(description="idempotency key: membership:{member_id}:term:{start}")
    community: Community
    member_id: UUID
    amount: Money = Field(description="fee excluding tax, from the fee schedule version of the term")
    term_start: date
    term_end: date
    issue_date: date
    due_days: int = 30
    language: Language = "fr"


class FeePaidRequest(BaseModel):
    invoice_number: str
    paid_on: date


class CreditNoteRequest(BaseModel):
    invoice_number: str
    idempotency_key: str = Field(description="e.g. credit:{invoice number}")
    reason: str
    issue_date: date


class PaymentReminderRequest(BaseModel):
    invoice_number: str
    reminder: int = Field(ge=1, description="1 for the late-payment notice, then each follow-up: the document's number")
    issue_date: date
