"""Request and response models for registration, login and profiles."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, SecretStr, model_validator

from domain import identifiers
from domain.identifiers import EU_COUNTRIES
from domain.money import Currency
from domain.taxonomy import FunctionKeys, SkillKeys

Country = Annotated[str, AfterValidator(identifiers.country)]
LanguageCode = Annotated[str, AfterValidator(identifiers.language)]
Siren = Annotated[str, AfterValidator(identifiers.siren)]
Siret = Annotated[str, AfterValidator(identifiers.siret)]
Iban = Annotated[str, AfterValidator(identifiers.iban)]
UiLanguage = Literal["fr", "en"]


class AccountCreate(BaseModel):
    email: EmailStr
    full_name: str = Field(min_length=2, max_length=200)
    password: SecretStr
    language: UiLanguage = "en"

    @model_validator(mode="after")
    def _strong_password(self) -> AccountCreate:
        try:
            identifiers.password_strength(self.password.get_secret_value(), email=str(self.email))
        except ValueError as exc:
            raise _field_error("password", str(exc)) from exc
        return self


class Address(BaseModel):
    address_line: str = Field(min_length=3, max_length=200)
    postcode: str = Field(min_length=2, max_length=20)
    city: str = Field(min_length=1, max_length=100)
    country: Country


class OrganisationCreate(Address):
    legal_name: str = Field(min_length=2, max_length=200)
    legal_form: str = Field(min_length=2, max_length=64, examples=["SAS"])
    siret: Siret | None = Field(default=None, description="required for French organisations")
    vat_number: str | None = Field(default=None, description="intra-community VAT number, required in the EU")
    billing_email: EmailStr

    @model_validator(mode="after")
    def _identifiers(self) -> OrganisationCreate:
        if self.country == "FR" and not self.siret:
            raise _field_error("siret", "a French organisation must give its SIRET")
        if self.vat_number:
            try:
                self.vat_number = identifiers.vat_number(self.vat_number, self.country)
            except ValueError as exc:
                raise _field_error("vat_number", str(exc)) from exc
        elif self.country in EU_COUNTRIES and self.country != "FR":
            raise _field_error("vat_number", "an EU business outside France must give its VAT number")
        return self


class ClientRegistration(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account": {
                        "email": "claire@acme.fr",
                        "full_name": "Claire Martin",
                        "password": "Correct-Horse-42",
                        "language": "fr",
                    },
                    "organisation": {
                        "legal_name": "ACME Industrie SAS",
                        "legal_form": "SAS",
                        "siret": "73282932000074",
                        "vat_number": "FR44732829320",
                        "billing_email": "compta@acme.fr",
                        "address_line": "1 place de la Bourse",
                        "postcode": "69002",
                        "city": "Lyon",
                        "country": "FR",
                    },
                }
            ]
        }
    )

    account: AccountCreate
    organisation: OrganisationCreate


VatRegime = Literal["vat_registered", "franchise_en_base", "non_eu"]


class ExpertProfileCreate(Address):
    display_name: str = Field(min_length=2, max_length=200)
    legal_name: str = Field(min_length=2, max_length=200, description="name on invoices")
    legal_form: str = Field(default="Entrepreneur individuel", max_length=64)
    headline: str = Field(default="", max_length=300)
    timezone: str = Field(default="Europe/Paris", max_length=64)
    utc_offset_minutes: int = Field(default=60, ge=-720, le=840)
    business_functions: FunctionKeys = Field(min_length=1, max_length=5, description="taxonomy keys or synonyms")
    skills: SkillKeys = Field(min_length=1, max_length=40, description="taxonomy keys or synonyms")
    languages: list[LanguageCode] = Field(min_length=1, max_length=10)
    countries: list[Country] = Field(default_factory=list, max_length=50)
    remote: bool = True
    daily_rate: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    currency: Currency = "EUR"
    available_from: date
    available_days_per_week: int = Field(default=5, ge=1, le=7)
    vat_regime: VatRegime
    siret: Siret | None = None
    vat_number: str | None = None
    iban: Iban
    billing_mandate_accepted: bool = Field(
        description="the expert mandates the platform to issue invoices in its name (CGI art. 289-I-2)"
    )

    @model_validator(mode="after")
    def _legal_consistency(self) -> ExpertProfileCreate:
        if not self.billing_mandate_accepted:
            raise _field_error("billing_mandate_accepted", "the billing mandate must be accepted to register")
        if self.country == "FR" and not self.siret:
            raise _field_error("siret", "a French expert must give a SIRET")
        if self.vat_regime == "franchise_en_base" and self.country != "FR":
            raise _field_error("vat_regime", "franchise en base (art. 293 B du CGI) applies to French sellers only")
        if self.vat_regime == "non_eu" and self.country in EU_COUNTRIES:
            raise _field_error("vat_regime", f"'non_eu' is for sellers outside the EU; {self.country} is in the EU")
        if self.vat_regime == "vat_registered" and self.country in EU_COUNTRIES and not self.vat_number:
            raise _field_error("vat_number", "a VAT-registered EU expert must give a VAT number")
        if self.vat_number:
            try:
                self.vat_number = identifiers.vat_number(self.vat_number, self.country)
            except ValueError as exc:
                raise _field_error("vat_number", str(exc)) from exc
        return self


class ExpertRegistration(BaseModel):
    account: AccountCreate
    profile: ExpertProfileCreate


class LoginRequest(BaseModel):
    email: EmailStr
    password: SecretStr
    otp: str | None = Field(
        default=None,
        max_length=32,
        description="once a second factor is enrolled: the 6-digit code of the authenticator app, or a recovery code",
    )


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=20, max_length=200)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a token type, not a secret
    expires_in: int = Field(description="seconds until the access token expires")


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    email: str
    full_name: str
    role: str
    language: str
    organisation_id: UUID | None
    expert_id: UUID | None
    email_verified: bool = Field(default=False, description="the owner followed the link sent at registration")
    second_factor: bool = Field(default=False, description="a TOTP authenticator is enrolled")

    @model_validator(mode="before")
    @classmethod
    def _from_user(cls, data: Any) -> Any:
        if hasattr(data, "email_verified_at"):  # a User row: derive the flags from its columns
            return {
                name: getattr(data, name)
                for name in ("id", "email", "full_name", "role", "language", "organisation_id", "expert_id")
            } | {
                "email_verified": data.email_verified_at is not None,
                "second_factor": data.totp_enabled_at is not None,
            }
        return data


class RegistrationResult(BaseModel):
    user: UserRead
    member_id: UUID = Field(description="organisation id or expert id")
    membership_status: str
    verification_email_sent: bool = Field(
        default=False,
        description="the verification link went out; when false (mail server down), ask again with "
        "POST /auth/verify-email/resend",
    )


class _FieldError(ValueError):
    """A model-level check that still names the field it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _field_error(field: str, message: str) -> _FieldError:
    return _FieldError(field, message)
