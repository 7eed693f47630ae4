"""A party's legal data (what its invoices and contracts state), edited in one place, versioned and audited.

`apply_legal_change` is the only writer of an expert's or an organisation's legal columns after registration: ops
call it through `PUT /ops/parties/{kind}/{id}/legal` (and the portal), with values the API validated
(`api.schemas.accounts.ExpertLegalData` / `OrganisationLegalData`, by the party's country). A review step (e.g. an
onboarding review of legal data) routes its approved change here unchanged: the caller decides *whether* a change
applies, this function *applies* it: the row, a new approved `LegalVersion` (the versions the onboarding review
keeps: store.onboarding; a version 1 keeps the data as registered when none exists), an audit entry, in one
transaction. Issued invoices keep their own snapshot and never change.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models.community import AuditEntry, Expert, Organisation, User
from store.models.onboarding import LegalVersion

PartyKind = Literal["expert", "organisation"]
COMMUNITY: dict[PartyKind, str] = {"expert": "expert", "organisation": "client_organisation"}

COMMON = ("legal_name", "legal_form", "address_line", "postcode", "city", "country", "siret", "vat_number", "tax_id")
FIELDS: dict[PartyKind, tuple[str, ...]] = {
    "expert": (*COMMON, "vat_regime", "iban", "bic", "account_number", "aba_routing"),
    "organisation": (*COMMON, "billing_email"),
}


def party_ref(kind: PartyKind, party_id: uuid.UUID) -> str:
    return f"{kind}:{party_id}"


def legal_data(kind: PartyKind, party: Expert | Organisation) -> dict[str, Any]:
    return {name: getattr(party, name) for name in FIELDS[kind]}


def party_of(session: Session, kind: PartyKind, party_id: uuid.UUID) -> Expert | Organisation | None:
    return session.get(Expert, party_id) if kind == "expert" else session.get(Organisation, party_id)


@dataclass(frozen=True)
class LegalChange:
    """A change to apply: the party, the whole new legal data (validated), who asks and why."""

    kind: PartyKind
    party_id: uuid.UUID
    values: Mapping[str, Any]
    by: User
    reason: str


@dataclass(frozen=True)
class Version:
    """One version of a party's legal data as ops read it: what it changed from the version before it."""

    version: int
    status: str
    data: dict[str, Any]
    changed: list[str]
    reason: str
    by_user_id: uuid.UUID | None
    at: datetime


def apply_legal_change(session: Session, change: LegalChange) -> Version | None:
    """Apply a validated change (commits): an approved version of the member's legal data (store.models.onboarding:
    the versions the onboarding review keeps too), the one approved before it superseded, the party's row, an
    audit entry. None when nothing changed. Raises LookupError for an unknown party."""
    party = party_of(session, change.kind, change.party_id)
    if party is None:
        raise LookupError(f"no {change.kind} {change.party_id}")
    ref, community = party_ref(change.kind, change.party_id), COMMUNITY[change.kind]
    before = legal_data(change.kind, party)
    after = before | {k: v for k, v in change.values.items() if k in FIELDS[change.kind]}
    changed = sorted(k for k in FIELDS[change.kind] if after[k] != before[k])
    if not changed:
        return None
    now = datetime.now(UTC)
    mine = LegalVersion.member_id == change.party_id
    last = session.scalar(select(func.max(LegalVersion.version)).where(mine)) or 0
    if last == 0:  # the data as registered, before its first edit
        session.add(
            LegalVersion(
                member_id=change.party_id, community=community, version=1, status="approved", data=before,
                submitted_at=party.created_at, reviewed_at=party.created_at, reason="as registered",
            )
        )  # fmt: skip
        last = 1
    for earlier in session.scalars(select(LegalVersion).where(mine, LegalVersion.status == "approved")):
        earlier.status = "superseded"
    for name in changed:
        setattr(party, name, after[name])
    party.siren = after["siret"][:9] if after.get("siret") else party.siren
    session.add(
        LegalVersion(
            member_id=change.party_id, community=community, version=last + 1, status="approved", data=after,
            submitted_at=now, reviewed_at=now, reviewed_by=change.by.id, reason=change.reason,
        )
    )  # fmt: skip
    session.add(
        AuditEntry(
            at=now,
            actor_user_id=change.by.id,
            action="edit_legal_data",
            target=ref,
            reason=change.reason,
            details={"version": str(last + 1), "changed": ", ".join(changed)},
        )
    )
    session.commit()
    return Version(last + 1, "approved", after, changed, change.reason, change.by.id, now)


def versions(session: Session, kind: PartyKind, party_id: uuid.UUID) -> list[Version]:
    """Every version of the party's legal data, oldest first, each with the fields it changed from the one before
    (a draft or a version under review included, with its status)."""
    rows = session.scalars(
        select(LegalVersion).where(LegalVersion.member_id == party_id).order_by(LegalVersion.version)
    )
    read: list[Version] = []
    previous: dict[str, Any] | None = None
    for row in rows:
        changed = [] if previous is None else sorted(k for k in FIELDS[kind] if row.data.get(k) != previous.get(k))
        at = row.reviewed_at or row.submitted_at or row.created_at
        read.append(Version(row.version, row.status, dict(row.data), changed, row.reason, row.reviewed_by, at))
        previous = row.data
    return read
