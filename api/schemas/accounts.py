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
Bic = Annotated[str, AfterValidator(identifiers.bic)]
AccountNumber = Annotated[str, AfterValidator(identifiers.account_number)]
AbaRouting = Annotated[str, AfterValidator(identifiers.aba_routing_number)]
# IBAN countries of the SEPA scheme (EU + EEA + CH, GB, MC, SM, AD, VA, ...), where an IBAN is expected.
SEPA_COUNTRIES = EU_COUNTRIES | {"IS", "LI", "NO", "CH", "GB", "MC", "SM", "AD", "VA", "GI"}
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
    vat_number: str | None = Field(
        default=None,
        description="VAT number: intra-community in the EU (required there), UK VAT, Swiss UID (CHE-123.456.789 "
        "MWST)... A tax identifier that is no VAT number (US EIN, Canadian BN) is kept as tax_id.",
    )
    tax_id: str | None = Field(default=None, description="tax identifier that is no VAT number (US EIN, CA BN...)")
    billing_email: EmailStr

    @model_validator(mode="after")
    def _identifiers(self) -> OrganisationCreate:
        if self.country == "FR" and not self.siret:
            raise _field_error("siret", "a French organisation must give its SIRET")
        _tax_identifiers(self)
        if not self.vat_number and self.country in EU_COUNTRIES and self.country != "FR":
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
    vat_regime: VatRegime = Field(
        description="'franchise_en_base': the small-business scheme of the expert's EU member state (French art. "
        "293 B du CGI, or the national scheme of Directive 2020/285 elsewhere in the EU)"
    )
    siret: Siret | None = None
    vat_number: str | None = Field(default=None, description="VAT number (EU, UK, Swiss UID-MWST...)")
    tax_id: str | None = Field(default=None, description="tax identifier that is no VAT number (US EIN, CA BN...)")
    iban: Iban | None = Field(default=None, description="required in SEPA countries")
    bic: Bic | None = Field(default=None, description="BIC/SWIFT; required with an account number outside the US")
    account_number: AccountNumber | None = Field(default=None, description="outside SEPA")
    aba_routing: AbaRouting | None = Field(default=None, description="US: ABA routing number of the account")
    billing_mandate_accepted: bool = Field(
        description="the expert mandates the platform to issue invoices in its name (CGI art. 289-I-2)"
    )

    @model_validator(mode="after")
    def _legal_consistency(self) -> ExpertProfileCreate:
        if not self.billing_mandate_accepted:
            raise _field_error("billing_mandate_accepted", "the billing mandate must be accepted to register")
        if self.country == "FR" and not self.siret:
            raise _field_error("siret", "a French expert must give a SIRET")
        if self.vat_regime == "franchise_en_base" and self.country not in EU_COUNTRIES:
            raise _field_error("vat_regime", "the small-business scheme exists for sellers established in the EU")
        if self.vat_regime == "non_eu" and self.country in EU_COUNTRIES:
            raise _field_error("vat_regime", f"'non_eu' is for sellers outside the EU; {self.country} is in the EU")
        if self.vat_regime == "vat_registered" and self.country in EU_COUNTRIES and not self.vat_number:
            raise _field_error("vat_number", "a VAT-registered EU expert must give a VAT number")
        _tax_identifiers(self)
        _bank_details(self)
        return self


class OrganisationLegalData(OrganisationCreate):
    """An organisation's legal data as it submits it for review and as ops edit it: the registration's fields,
    checked the same way, by the country."""


class ExpertLegalData(Address):
    """An expert's legal data (name and address on invoices, tax regime and identifiers, bank details), as the
    expert submits it for review (api.schemas.onboarding) and as ops edit it: checked as at registration, by the
    country."""

    legal_name: str = Field(min_length=2, max_length=200, description="name on invoices")
    legal_form: str = Field(default="Entrepreneur individuel", max_length=64)
    vat_regime: VatRegime
    siret: Siret | None = None
    vat_number: str | None = None
    tax_id: str | None = None
    iban: Iban | None = None
    bic: Bic | None = None
    account_number: AccountNumber | None = None
    aba_routing: AbaRouting | None = None

    @model_validator(mode="after")
    def _legal_consistency(self) -> ExpertLegalData:
        if self.country == "FR" and not self.siret:
            raise _field_error("siret", "a French expert must give a SIRET")
        if self.vat_regime == "franchise_en_base" and self.country not in EU_COUNTRIES:
            raise _field_error("vat_regime", "the small-business scheme exists for sellers established in the EU")
        if self.vat_regime == "non_eu" and self.country in EU_COUNTRIES:
            raise _field_error("vat_regime", f"'non_eu' is for sellers outside the EU; {self.country} is in the EU")
        if self.vat_regime == "vat_registered" and self.country in EU_COUNTRIES and not self.vat_number:
            raise _field_error("vat_number", "a VAT-registered EU expert must give a VAT number")
        _tax_identifiers(self)
        _bank_details(self)
        return self


LegalParty = OrganisationCreate | ExpertProfileCreate | OrganisationLegalData | ExpertLegalData


def _tax_identifiers(party: LegalParty) -> None:
    """Validate by the party's country; an identifier given as vat_number that is no VAT number (a US EIN) is kept
    as tax_id, where invoices carry it (BT-32)."""
    for name in ("vat_number", "tax_id"):
        value = getattr(party, name)
        if not value:
            continue
        try:
            kind, number = identifiers.tax_identifier(value, party.country)
        except ValueError as exc:
            raise _field_error(name, str(exc)) from exc
        if kind == "vat" and name == "tax_id" and party.vat_number and party.vat_number != value:
            raise _field_error("tax_id", "this is a VAT number: give it as vat_number")
        setattr(party, name, None)
        setattr(party, "vat_number" if kind == "vat" else "tax_id", number)


def _bank_details(expert: ExpertProfileCreate | ExpertLegalData) -> None:
    """IBAN (+ BIC) in SEPA; elsewhere an account number with its ABA routing number (US) or BIC/SWIFT."""
    if expert.country in SEPA_COUNTRIES and not expert.iban:
        raise _field_error("iban", f"an expert in {expert.country} (SEPA) is paid to an IBAN")
    if expert.iban:
        return
    if not expert.account_number:
        raise _field_error("account_number", "give an IBAN or, outside SEPA, the bank account number")
    if expert.country == "US" and not (expert.aba_routing or expert.bic):
        raise _field_error("aba_routing", "a US account needs its ABA routing number (or the bank's SWIFT code)")
    if expert.country != "US" and not expert.bic:
        raise _field_error("bic", "an account outside SEPA needs the bank's BIC/SWIFT code")


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
    org_role: str | None = Field(default=None, description="a client member's role: admin, buyer, approver, finance")
    email_verified: bool = Field(default=False, description="the owner followed the link sent at registration")
    second_factor: bool = Field(default=False, description="a TOTP authenticator is enrolled")

    @model_validator(mode="before")
    @classmethod
    def _from_user(cls, data: Any) -> Any:
        if hasattr(data, "email_verified_at"):  # a User row: derive the flags from its columns
            return {
                name: getattr(data, name)
                for name in ("id", "email", "full_name", "role", "language", "organisation_id", "expert_id", "org_role")
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
