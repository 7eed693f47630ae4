"""GDPR erasure in the database: pseudonymise a member's personal data where the law does not keep it.

What the law keeps (French commercial and tax law: invoices and contracts ten years, art. L123-22 C. com. and
L102 B LPF) stays as it was issued: invoices, credit notes and their snapshots, contracts, signatures and consents,
the documents' bytes, the transparency ledger, the versions of a party's legal data (the proof of what an invoice
had to state), and the audit log (who did what, by user id). Everything else that names or reaches the person is
replaced: the account's name, e-mail address and password, its second factor, sessions and one-time links; an
expert's public profile (name, headline, address, bank details) and its place in the directory; the billing e-mail
of an organisation whose last member leaves. The account can no longer log in; its id stays, so that the legal
records and the missions' timelines still point at one (now anonymous) person.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from domain.stages import TERMINAL
from store.models.community import AuditEntry, Expert, Organisation, RefreshToken, User
from store.models.readmodel import MissionExpert, MissionRecord
from store.models.security import AccountToken, RecoveryCode

ERASED_NAME = "Erased member"
ENGAGED = ("invited", "accepted", "selected")  # an expert a running mission still counts on
CLOSED = [s.value for s in TERMINAL]


def erased_email(user_id: uuid.UUID) -> str:
    return f"erased-{user_id.hex}@erased.invalid"


def running_missions(session: Session, user: User) -> list[uuid.UUID]:
    """The running missions that still need this member: an expert invited, candidate or selected; the client
    organisation's missions when this user is its last active member."""
    running = select(MissionRecord.id).where(MissionRecord.stage.not_in(CLOSED))
    if user.expert_id is not None:
        engaged = select(MissionExpert.mission_id).where(
            MissionExpert.expert_id == user.expert_id, MissionExpert.status.in_(ENGAGED)
        )
        query = running.where(or_(MissionRecord.selected_expert_id == user.expert_id, MissionRecord.id.in_(engaged)))
        return list(session.scalars(query))
    if user.organisation_id is not None and other_members(session, user) == 0:
        return list(session.scalars(running.where(MissionRecord.client_org_id == user.organisation_id)))
    return []


def other_members(session: Session, user: User) -> int:
    query = select(func.count()).where(
        User.organisation_id == user.organisation_id, User.id != user.id, User.is_active.is_(True)
    )
    return int(session.scalar(query) or 0)


@dataclass
class Erasure:
    """What an erasure changed, for the audit entry and the answer."""

    user_id: uuid.UUID
    pseudonymised: list[str] = field(default_factory=list)
    kept: list[str] = field(
        default_factory=lambda: [
            "invoices and credit notes",
            "contracts, signatures and consents",
            "documents",
            "transparency ledger",
            "legal data versions",
            "audit log",
        ]
    )
    memberships_to_stop: list[uuid.UUID] = field(default_factory=list)


def erase(session: Session, user: User, *, reason: str) -> Erasure:
    """Pseudonymise the member's personal data, revoke every session and disable the login; audited; commits.
    The caller checked `running_missions` first."""
    now = datetime.now(UTC)
    found = session.get(User, user.id)  # the caller's user may come from a cache, outside this session
    if found is None:
        raise LookupError(f"no user {user.id}")
    user = found
    done = Erasure(user.id)
    last_member = user.organisation_id is not None and other_members(session, user) == 0
    user.email, user.full_name = erased_email(user.id), ERASED_NAME
    user.password_hash = "!erased"  # noqa: S105 - matches no password: the login is disabled
    user.is_active = False
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = None, None, None
    done.pseudonymised.append("account: name, e-mail address, password, second factor")
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(delete(AccountToken).where(AccountToken.user_id == user.id))
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    done.pseudonymised.append("sessions revoked, one-time links and recovery codes deleted")
    if user.expert_id is not None:
        expert = session.get(Expert, user.expert_id)
        if expert is not None:
            expert.display_name = expert.legal_name = ERASED_NAME
            expert.headline, expert.address_line, expert.postcode, expert.city = "", "", "", ""
            expert.iban = expert.bic = expert.account_number = expert.aba_routing = None
            expert.membership_active = False  # out of the directory: matching never proposes them again
            done.pseudonymised.append("expert profile: names, headline, address, bank details; out of the directory")
            done.memberships_to_stop.append(expert.id)
    if last_member and user.organisation_id is not None:
        org = session.get(Organisation, user.organisation_id)
        if org is not None:
            org.billing_email = f"erased-{org.id.hex}@erased.invalid"
            done.pseudonymised.append("organisation: billing e-mail (its last member left)")
            done.memberships_to_stop.append(org.id)
    session.add(
        AuditEntry(
            at=now,
            actor_user_id=user.id,
            action="erasure",
            target=f"user:{user.id}",
            reason=reason,
            details={"pseudonymised": "; ".join(done.pseudonymised), "kept": "; ".join(done.kept)},
        )
    )
    session.commit()
    return done
