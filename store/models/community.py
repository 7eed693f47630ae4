"""The two communities and their accounts: users, client organisations, experts, memberships, tokens."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.directory import DEFAULT_PUBLIC
from store.base import Base, IdMixin, TimestampMixin


class Organisation(IdMixin, TimestampMixin, Base):
    """A client company. French organisations carry SIREN/SIRET; EU ones a VAT number."""

    __tablename__ = "organisations"

    legal_name: Mapped[str] = mapped_column(String(200))
    legal_form: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2))
    siren: Mapped[str | None] = mapped_column(String(9), index=True)
    siret: Mapped[str | None] = mapped_column(String(14))
    vat_number: Mapped[str | None] = mapped_column(String(20))
    tax_id: Mapped[str | None] = mapped_column(String(32), doc="tax registration that is no VAT number (e.g. EIN)")
    address_line: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(20))
    city: Mapped[str] = mapped_column(String(100))
    billing_email: Mapped[str] = mapped_column(String(254))
    # the client's reputation: the experts' ratings of its missions, counted once revealed (double-blind)
    rating: Mapped[Decimal] = mapped_column(Numeric(3, 2), default=Decimal("0"))
    ratings_count: Mapped[int] = mapped_column(Integer, default=0)
    qualification_required: Mapped[bool] = mapped_column(
        Boolean, default=True, doc="ops qualify each need of this organisation before matching (new ones: on)"
    )
    # a need whose budget is above this waits for an approver of the organisation (None: no approval step)
    approval_threshold: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    approval_currency: Mapped[str | None] = mapped_column(String(3))

    members: Mapped[list[User]] = relationship(back_populates="organisation")


class Expert(IdMixin, TimestampMixin, Base):
    """An independent consultant's profile: what matching ranks and what mission invoices name as seller."""

    __tablename__ = "experts"

    display_name: Mapped[str] = mapped_column(String(200))
    legal_name: Mapped[str] = mapped_column(String(200), doc="name or company name on invoices")
    legal_form: Mapped[str] = mapped_column(String(64), default="Entrepreneur individuel")
    headline: Mapped[str] = mapped_column(String(300), default="")
    skill_levels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, doc="skill key -> level (taxonomy)")
    public_fields: Mapped[list[str]] = mapped_column(
        JSON, default=lambda: list(DEFAULT_PUBLIC), doc="what clients see in the directory (domain.directory)"
    )
    cv_document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("documents.id"), doc="a PDF, checked")
    country: Mapped[str] = mapped_column(String(2), index=True)
    address_line: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(20))
    city: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    utc_offset_minutes: Mapped[int] = mapped_column(Integer, default=60)
    business_functions: Mapped[list[str]] = mapped_column(JSON, default=list)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    countries: Mapped[list[str]] = mapped_column(JSON, default=list, doc="where on-site work is possible")
    remote: Mapped[bool] = mapped_column(Boolean, default=True)
    daily_rate: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    available_from: Mapped[date] = mapped_column(Date)
    available_days_per_week: Mapped[int] = mapped_column(Integer, default=5)
    vat_regime: Mapped[str] = mapped_column(
        String(24), doc="'vat_registered' | 'franchise_en_base' | 'non_eu' (seller VAT treatment)"
    )
    siren: Mapped[str | None] = mapped_column(String(9))
    siret: Mapped[str | None] = mapped_column(String(14))
    vat_number: Mapped[str | None] = mapped_column(String(20))
    tax_id: Mapped[str | None] = mapped_column(String(32), doc="tax registration that is no VAT number (e.g. EIN)")
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    account_number: Mapped[str | None] = mapped_column(String(34), doc="outside SEPA, with the BIC or ABA routing")
    aba_routing: Mapped[str | None] = mapped_column(String(9))
    billing_mandate_accepted_on: Mapped[date | None] = mapped_column(Date)
    rating: Mapped[Decimal] = mapped_column(Numeric(3, 2), default=Decimal("0"))
    ratings_count: Mapped[int] = mapped_column(Integer, default=0)
    completed_missions: Mapped[int] = mapped_column(Integer, default=0)
    recent_shortlists: Mapped[int] = mapped_column(Integer, default=0, doc="exposure over the fairness window")
    membership_active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    revision: Mapped[int] = mapped_column(
        Integer,
        default=1,
        server_default="1",
        onupdate=literal_column("revision + 1"),
        doc="+1 at every UPDATE of the row (ORM or bulk) that does not set it: the matching directory cache compares "
        "the sum over all experts to see, at once, any change committed since it loaded (store.matching)",
    )
    engaged_until: Mapped[date | None] = mapped_column(
        Date, doc="end of the signed mission that set available_from; the mission's end frees the expert"
    )

    user: Mapped[User | None] = relationship(back_populates="expert")

    __table_args__ = (Index("ix_experts_active_rate", "membership_active", "currency", "daily_rate"),)


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), doc="client | expert | ops")
    language: Mapped[str] = mapped_column(String(2), default="en")
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    org_role: Mapped[str | None] = mapped_column(String(16), doc="client members: admin | buyer | approver | finance")
    expert_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("experts.id"), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(doc="when the owner followed the verification link")
    # the TOTP secret, sealed with the data key (config.crypto): set at enrolment, in force once confirmed
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(Integer, doc="last time step used to log in: no replay")

    organisation: Mapped[Organisation | None] = relationship(back_populates="members")
    expert: Mapped[Expert | None] = relationship(back_populates="user")


class OrgInvitation(IdMixin, TimestampMixin, Base):
    """An admin's invitation of a colleague into the organisation: an e-mailed link (only the SHA-256 of its token is
    kept) that expires and opens one account, with the role the admin chose."""

    __tablename__ = "org_invitations"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    full_name: Mapped[str] = mapped_column(String(200))
    org_role: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(2), default="en")
    invited_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Membership(IdMixin, TimestampMixin, Base):
    """One community membership (an organisation's or an expert's); its process is MembershipWorkflow."""

    __tablename__ = "memberships"

    community: Mapped[str] = mapped_column(String(24), doc="client_organisation | expert")
    member_id: Mapped[uuid.UUID] = mapped_column(unique=True, doc="organisation id or expert id")
    status: Mapped[str] = mapped_column(String(16), default="pending", doc="pending | active | lapsed")
    fee_schedule_version: Mapped[str] = mapped_column(String(32))
    fee_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    term_start: Mapped[date | None] = mapped_column(Date)
    term_end: Mapped[date | None] = mapped_column(Date)
    onboarding_status: Mapped[str | None] = mapped_column(
        String(24), index=True, doc="domain.onboarding.OnboardingStatus; none: vetted before onboarding existed"
    )
    onboarding_due_at: Mapped[datetime | None] = mapped_column(doc="deadline of the onboarding step under way")
    onboarding_reason: Mapped[str] = mapped_column(Text, default="", server_default="", doc="why ops asked for changes")


class RefreshToken(IdMixin, TimestampMixin, Base):
    """Refresh tokens are stored hashed; revoking one sets revoked_at."""

    __tablename__ = "refresh_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class LoginThrottle(Base):
    """Login attempts counted per client address, per account (from devices it does not know) and per known device,
    and until when each must wait (store.throttle): one row per key, shared by every API replica."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True, doc="SHA-256 of scope:value (no e-mail in clear)")
    scope: Mapped[str] = mapped_column(String(8), doc="client | account | device")
    attempts: Mapped[int] = mapped_column(Integer, doc="failed or under way; a success is given back or forgotten")
    allowed: Mapped[int] = mapped_column(Integer, doc="attempts allowed after the last wait (0: the policy's free)")
    last_attempt_at: Mapped[datetime] = mapped_column(index=True)
    blocked_until: Mapped[datetime | None] = mapped_column()


class AuditEntry(IdMixin, Base):
    """Who did what, why and when: every ops action and every privileged read."""

    __tablename__ = "audit_log"

    at: Mapped[datetime] = mapped_column(index=True)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class IdempotencyRecord(Base):
    """First answer to a POST carrying an Idempotency-Key, replayed on retries."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column()
    key: Mapped[str] = mapped_column(String(200))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime]
