"""Request and response models of the onboarding (a member's legal data under review) and of the ops queue."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from api.schemas.accounts import ExpertLegalData, OrganisationLegalData, VatRegime


class LegalDataIn(BaseModel):
    """A new version of the member's legal data; the fields of its community are checked (an expert's or an
    organisation's), by its country (SIRET in France, VAT number in the EU, bank details...)."""

    legal_name: str = Field(max_length=200)
    legal_form: str = Field(max_length=64)
    address_line: str = Field(max_length=200)
    postcode: str = Field(max_length=20)
    city: str = Field(max_length=100)
    country: str = Field(max_length=2)
    siret: str | None = Field(default=None, max_length=20)
    vat_number: str | None = Field(default=None, max_length=30)
    tax_id: str | None = Field(default=None, max_length=32)
    vat_regime: VatRegime | None = Field(default=None, description="experts")
    iban: str | None = Field(default=None, max_length=40, description="experts")
    bic: str | None = Field(default=None, max_length=11, description="experts")
    account_number: str | None = Field(default=None, max_length=34, description="experts")
    aba_routing: str | None = Field(default=None, max_length=9, description="experts")
    billing_email: EmailStr | None = Field(default=None, description="organisations")

    def checked(self, community: str) -> dict[str, str | None]:
        """The fields of the community, validated (pydantic's ValidationError names the field)."""
        given = self.model_dump(exclude_none=True)
        model = ExpertLegalData if community == "expert" else OrganisationLegalData
        return model.model_validate(given).model_dump(mode="json")


class VersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: int
    status: str = Field(description="draft | submitted | approved | changes_requested | superseded")
    data: dict[str, str | None]
    submitted_at: datetime | None
    reviewed_at: datetime | None
    reason: str


class ProofRead(BaseModel):
    id: uuid.UUID
    kind: str
    file_name: str | None
    media_type: str
    size: int
    uploaded_at: datetime


class OnboardingRead(BaseModel):
    member_id: uuid.UUID
    community: str
    status: str = Field(description="profile | awaiting_review | changes_requested | approved | expired")
    queue_status: str = Field(description="where the member stands: the onboarding step, then awaiting_fee, active")
    due_at: datetime | None
    reason: str = Field(description="why ops asked for changes")
    missing: list[str] = Field(description="what must be given before ops can approve")
    in_force: dict[str, str | None] = Field(description="the approved legal data, which invoices use")
    versions: list[VersionRead]
    documents: list[ProofRead]


class QueuedMemberRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    member_id: uuid.UUID
    community: str
    name: str
    status: str
    onboarding_status: str | None
    due_at: datetime | None
    reason: str
    missing: list[str]
    under_review: int | None = Field(description="the version waiting for review")


class Approval(BaseModel):
    note: str = Field(default="", max_length=500)


class ChangeRequest(BaseModel):
    reason: str = Field(min_length=3, max_length=1000, description="what the member must fix; shown to the member")


class OrganisationSettings(BaseModel):
    qualification_required: bool = Field(description="ops qualify each need of the organisation before matching")
