"""A party's legal data (what its invoices and contracts state), edited in one place, versioned and audited.

`apply_legal_change` is the only writer of an expert's or an organisation's legal columns after registration: ops
call it through `PUT /ops/parties/{kind}/{id}/legal` (and the portal), with values the API validated
(`api.schemas.accounts.ExpertLegalData` / `OrganisationLegalData`, by the party's country). A review step (e.g. an
onboarding review of legal data) routes its approved change here unchanged: the caller decides *whether* a change
applies, this function *applies* it: the row, a new `LegalDataVersion` (version 1 keeps the data before the first
edit), an audit entry, in one transaction. Issued invoices keep their own snapshot and never change.
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
from store.models.legal import LegalDataVersion

PartyKind = Literal["expert", "organisation"]

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


def apply_legal_change(session: Session, change: LegalChange) -> LegalDataVersion | None:
    """Apply a validated change (commits); the new version, or None when nothing changed. Raises LookupError for
    an unknown party."""
    party = party_of(session, change.kind, change.party_id)
    if party is None:
        raise LookupError(f"no {change.kind} {change.party_id}")
    ref = party_ref(change.kind, change.party_id)
    before = legal_data(change.kind, party)
    after = before | {k: v for k, v in change.values.items() if k in FIELDS[change.kind]}
    changed = sorted(k for k in FIELDS[change.kind] if after[k] != before[k])
    if not changed:
        return None
    now = datetime.now(UTC)
    last = session.scalar(select(func.max(LegalDataVersion.version)).where(LegalDataVersion.party == ref)) or 0
    if last == 0:  # the data as registered, before its first edit
        session.add(LegalDataVersion(party=ref, version=1, data=before, changed=[], reason="as registered", at=now))
        last = 1
    for name in changed:
        setattr(party, name, after[name])
    party.siren = after["siret"][:9] if after.get("siret") else party.siren
    version = LegalDataVersion(
        party=ref, version=last + 1, data=after, changed=changed, reason=change.reason, by_user_id=change.by.id, at=now
    )
    session.add(version)
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
    return version


def versions(session: Session, kind: PartyKind, party_id: uuid.UUID) -> list[LegalDataVersion]:
    ref = party_ref(kind, party_id)
    query = select(LegalDataVersion).where(LegalDataVersion.party == ref).order_by(LegalDataVersion.version)
    return list(session.scalars(query))
