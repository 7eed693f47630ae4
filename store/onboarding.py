"""The review of members' legal data: versions (draft, submitted, reviewed), proof documents, what is missing, the
ops queue, and the application of an approved version to the member's row (which future invoices read; issued ones
keep their snapshot)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.onboarding import REQUIRED_PROOFS, OnboardingProjection
from store.models.community import Expert, Membership, Organisation
from store.models.onboarding import LegalVersion, MemberDocument

LEGAL_FIELDS: dict[str, tuple[str, ...]] = {
    "expert": (
        "legal_name", "legal_form", "address_line", "postcode", "city", "country", "vat_regime", "siret",
        "vat_number", "tax_id", "iban", "bic", "account_number", "aba_routing",
    ),
    "client_organisation": (
        "legal_name", "legal_form", "address_line", "postcode", "city", "country", "siret", "vat_number", "tax_id",
        "billing_email",
    ),
}  # fmt: skip
# The queue's statuses: the onboarding's own, and the fee step after approval (Membership.status says the rest).
QUEUE_STATUSES = ("profile", "awaiting_review", "changes_requested", "awaiting_fee", "active", "lapsed", "expired")


def member_row(session: Session, community: str, member_id: uuid.UUID) -> Expert | Organisation | None:
    if community == "expert":
        return session.get(Expert, member_id)
    return session.get(Organisation, member_id)


def current_legal_data(session: Session, community: str, member_id: uuid.UUID) -> dict[str, str | None]:
    """The legal data in force (the member's row: what invoices are issued with)."""
    row = member_row(session, community, member_id)
    if row is None:
        return {}
    return {name: getattr(row, name) for name in LEGAL_FIELDS[community]}


def versions(session: Session, member_id: uuid.UUID) -> list[LegalVersion]:
    query = select(LegalVersion).where(LegalVersion.member_id == member_id).order_by(LegalVersion.version)
    return list(session.scalars(query))


def _next_version(session: Session, member_id: uuid.UUID) -> int:
    last = session.scalar(select(func.max(LegalVersion.version)).where(LegalVersion.member_id == member_id))
    return (last or 0) + 1


def save_draft(session: Session, *, community: str, member_id: uuid.UUID, data: dict[str, str | None]) -> LegalVersion:
    """The member's next version of its legal data, not yet submitted (a draft saved again is replaced)."""
    kept = {name: data.get(name) for name in LEGAL_FIELDS[community]}
    draft = session.scalar(
        select(LegalVersion).where(LegalVersion.member_id == member_id, LegalVersion.status == "draft")
    )
    if draft is None:
        draft = LegalVersion(
            member_id=member_id, community=community, version=_next_version(session, member_id), status="draft",
            data=kept, reason="",
        )  # fmt: skip
        session.add(draft)
    else:
        draft.data = kept
    session.flush()
    return draft


def submit_version(session: Session, *, community: str, member_id: uuid.UUID, now: datetime) -> LegalVersion:
    """The draft (or, without one, the data in force: a first onboarding submits what the registration gave) becomes
    a submitted version."""
    draft = session.scalar(
        select(LegalVersion).where(LegalVersion.member_id == member_id, LegalVersion.status == "draft")
    )
    if draft is None:
        draft = save_draft(
            session, community=community, member_id=member_id,
            data=current_legal_data(session, community, member_id),
        )  # fmt: skip
    draft.status, draft.submitted_at = "submitted", now
    session.flush()
    return draft


def documents(session: Session, member_id: uuid.UUID) -> list[MemberDocument]:
    query = select(MemberDocument).where(MemberDocument.member_id == member_id).order_by(MemberDocument.created_at)
    return list(session.scalars(query))


def missing(session: Session, community: str, member_id: uuid.UUID) -> list[str]:
    """What the member must still give before ops can approve (shown to both)."""
    draft = session.scalar(
        select(LegalVersion).where(LegalVersion.member_id == member_id, LegalVersion.status == "draft")
    )
    data = draft.data if draft is not None else current_legal_data(session, community, member_id)
    gaps: list[str] = []
    if not any(data.get(name) for name in ("siret", "vat_number", "tax_id")):
        gaps.append("registry or tax number (SIRET, VAT number or tax id)")
    if community == "expert" and not (data.get("iban") or data.get("account_number")):
        gaps.append("bank details (IBAN or account number)")
    uploaded = {d.kind for d in documents(session, member_id)}
    gaps += [f"document: {kind}" for kind in REQUIRED_PROOFS[community] if kind not in uploaded]
    return gaps


def apply_review(session: Session, p: OnboardingProjection) -> bool:
    """Record ops' decision on the version; an approved one becomes the data in force (the member's row), the one
    approved before it is superseded. Idempotent: a version already decided is left as it is."""
    if p.review is None or p.version_id is None:
        return False
    version = session.get(LegalVersion, p.version_id, with_for_update=True)
    if version is None or version.status != "submitted":
        return False
    version.status, version.reviewed_at, version.reviewed_by = p.review, p.at, p.reviewer_user_id
    version.reason = p.reason
    if p.review == "approved":
        for earlier in session.scalars(
            select(LegalVersion).where(
                LegalVersion.member_id == version.member_id,
                LegalVersion.status == "approved",
                LegalVersion.id != version.id,
            )
        ):
            earlier.status = "superseded"
        row = member_row(session, version.community, version.member_id)
        if row is not None:
            for name in LEGAL_FIELDS[version.community]:
                setattr(row, name, version.data.get(name))
            row.siren = (version.data.get("siret") or "")[:9] or None
    session.flush()
    return True


def queue_status(membership: Membership) -> str:
    """Where a member stands for ops: the onboarding step, then the fee, then its membership status."""
    onboarding = membership.onboarding_status
    if onboarding in {"profile", "awaiting_review", "changes_requested", "expired"} and membership.status != "active":
        return onboarding
    if membership.status == "pending":
        return "awaiting_fee"
    return membership.status


@dataclass
class QueuedMember:
    member_id: uuid.UUID
    community: str
    name: str
    status: str
    onboarding_status: str | None
    due_at: datetime | None
    reason: str
    missing: list[str] = field(default_factory=list)
    under_review: int | None = None


def queue(session: Session, status: str | None, limit: int = 200) -> list[QueuedMember]:
    """The members at `status` (QUEUE_STATUSES; None: every one not active yet), soonest deadline first. A legal
    data change of an active member shows under awaiting_review and changes_requested too."""
    query = select(Membership)
    if status in {"awaiting_review", "changes_requested", "profile", "expired"}:
        query = query.where(Membership.onboarding_status == status)
    elif status == "awaiting_fee":
        query = query.where(Membership.status == "pending", Membership.onboarding_status == "approved")
    elif status in {"active", "lapsed"}:
        query = query.where(Membership.status == status)
    else:
        query = query.where(Membership.status != "active")
    query = query.order_by(Membership.onboarding_due_at.is_(None), Membership.onboarding_due_at, Membership.created_at)
    found: list[QueuedMember] = []
    for membership in session.scalars(query.limit(limit)):
        row = member_row(session, membership.community, membership.member_id)
        submitted = session.scalar(
            select(LegalVersion.version).where(
                LegalVersion.member_id == membership.member_id, LegalVersion.status == "submitted"
            )
        )
        onboarding = membership.onboarding_status
        found.append(
            QueuedMember(
                member_id=membership.member_id,
                community=membership.community,
                name=row.legal_name if row is not None else "",
                status=status if status in {"awaiting_review", "changes_requested"} else queue_status(membership),
                onboarding_status=onboarding,
                due_at=membership.onboarding_due_at,
                reason=membership.onboarding_reason or "",
                missing=missing(session, membership.community, membership.member_id)
                if onboarding in {"profile", "changes_requested", "awaiting_review"}
                else [],
                under_review=submitted,
            )
        )
    return found
