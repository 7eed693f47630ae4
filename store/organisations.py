"""The people of a client organisation: their roles, the invitations of colleagues, the approval threshold.

Keyword-only functions over a Session; the caller owns the transaction. Every function is scoped to one
organisation: a member id or an invitation of another organisation is reported like a missing one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.org_roles import MANAGES, OrgRole
from store.accounts import DuplicateEmail, create_user, revoke_all_sessions
from store.models.community import Organisation, OrgInvitation, User

INVITATION_TTL = timedelta(days=7)


class MemberRefused(Exception):
    """What the admin asked cannot be done (the message names the field and says why)."""


def members(session: Session, *, organisation_id: uuid.UUID) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.organisation_id == organisation_id, User.role == "client", User.is_active.is_(True))
            .order_by(User.created_at)
        )
    )


def member(session: Session, *, organisation_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
    user = session.get(User, user_id)
    if user is None or user.organisation_id != organisation_id or user.role != "client" or not user.is_active:
        return None
    return user


def _admins(session: Session, organisation_id: uuid.UUID) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(User)
            .where(
                User.organisation_id == organisation_id,
                User.role == "client",
                User.is_active.is_(True),
                User.org_role.in_([r.value for r in MANAGES]),
            )
        )
        or 0
    )


def _lock(session: Session, organisation_id: uuid.UUID) -> None:
    """One change of the members at a time per organisation (PostgreSQL: the row lock; SQLite serialises writes):
    two admins demoting each other at once cannot leave the organisation without an admin."""
    session.scalar(select(Organisation.id).where(Organisation.id == organisation_id).with_for_update())


def change_role(session: Session, *, organisation_id: uuid.UUID, user_id: uuid.UUID, role: OrgRole) -> User | None:
    """The member's new role; None when no such member; MemberRefused when it would leave no admin."""
    _lock(session, organisation_id)
    user = member(session, organisation_id=organisation_id, user_id=user_id)
    if user is None:
        return None
    if user.org_role in MANAGES and role not in MANAGES and _admins(session, organisation_id) <= 1:
        raise MemberRefused("role: the last admin of the organisation keeps the admin role; name another admin first")
    user.org_role = role.value
    return user


def remove(session: Session, *, organisation_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """The member leaves: their account is closed and every session ends; their missions stay the organisation's.
    False when no such member; MemberRefused for the last admin."""
    _lock(session, organisation_id)
    user = member(session, organisation_id=organisation_id, user_id=user_id)
    if user is None:
        return False
    if user.org_role in MANAGES and _admins(session, organisation_id) <= 1:
        raise MemberRefused("user_id: the last admin of the organisation cannot be removed; name another admin first")
    user.is_active = False
    revoke_all_sessions(session, user_id=user.id)
    return True


def invite(
    session: Session,
    *,
    organisation_id: uuid.UUID,
    invited_by: uuid.UUID,
    email: str,
    full_name: str,
    role: OrgRole,
    language: str,
    token_hash: str,
) -> OrgInvitation:
    """A new invitation (an earlier unused one to the same address stops working)."""
    now = datetime.now(UTC)
    for old in session.scalars(
        select(OrgInvitation).where(
            OrgInvitation.organisation_id == organisation_id,
            OrgInvitation.email == email.lower(),
            OrgInvitation.used_at.is_(None),
        )
    ):
        old.used_at = now
    row = OrgInvitation(
        organisation_id=organisation_id,
        email=email.lower(),
        full_name=full_name,
        org_role=role.value,
        language=language,
        invited_by=invited_by,
        token_hash=token_hash,
        expires_at=now + INVITATION_TTL,
    )
    session.add(row)
    session.flush()
    return row


def pending_invitations(session: Session, *, organisation_id: uuid.UUID) -> list[OrgInvitation]:
    now = datetime.now(UTC)
    return list(
        session.scalars(
            select(OrgInvitation)
            .where(
                OrgInvitation.organisation_id == organisation_id,
                OrgInvitation.used_at.is_(None),
                OrgInvitation.expires_at > now,
            )
            .order_by(OrgInvitation.created_at)
        )
    )


def accept(session: Session, *, token_hash: str, password_hash: str) -> User:
    """Follow an invitation once: the account is created in the organisation with the role the admin chose, its
    address verified by the act (the link reached that mailbox). MemberRefused says why not."""
    row = session.scalar(select(OrgInvitation).where(OrgInvitation.token_hash == token_hash).with_for_update())
    if row is None:
        raise MemberRefused("token: this invitation is not valid: ask your admin for a new one")
    if row.used_at is not None:
        raise MemberRefused("token: this invitation was already used or replaced by a newer one")
    now = datetime.now(UTC)
    if row.expires_at < now:
        raise MemberRefused("token: this invitation has expired: ask your admin for a new one")
    try:
        user = create_user(
            session,
            email=row.email,
            full_name=row.full_name,
            password_hash=password_hash,
            role="client",
            language=row.language,
            organisation_id=row.organisation_id,
            org_role=row.org_role,
        )
    except DuplicateEmail as exc:
        raise MemberRefused("token: an account already uses this address: log in, or ask your admin") from exc
    user.email_verified_at = now
    row.used_at = now
    return user


def set_threshold(
    session: Session, *, organisation_id: uuid.UUID, amount: Decimal | None, currency: str | None
) -> Organisation:
    org = session.get_one(Organisation, organisation_id)
    org.approval_threshold, org.approval_currency = (amount, currency) if amount is not None else (None, None)
    return org
