"""Account security services: e-mailed single-use links, e-mail verification, password reset, sessions (the
refresh tokens), second-factor recovery codes.

Keyword-only functions over a Session; the caller owns the transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store.accounts import revoke_all_sessions
from store.models.community import RefreshToken, User
from store.models.security import AccountToken, RecoveryCode

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose, not a secret


class LinkRefused(Exception):
    """The link cannot be used: unknown, expired or already used (the message says which, for its owner)."""


def issue_link(session: Session, *, user_id: uuid.UUID, purpose: str, token_hash: str, ttl: timedelta) -> AccountToken:
    row = AccountToken(user_id=user_id, purpose=purpose, token_hash=token_hash, expires_at=datetime.now(UTC) + ttl)
    session.add(row)
    session.flush()
    return row


def retire_older_links(session: Session, *, user_id: uuid.UUID, purpose: str, keep: uuid.UUID) -> None:
    """Once a new link was sent, the older unused ones stop working (only the latest e-mail counts); a link whose
    e-mail could not be sent leaves the previous one working."""
    session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user_id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.id != keep,
        )
        .values(used_at=datetime.now(UTC))
    )


def consume_link(session: Session, *, purpose: str, token_hash: str) -> User:
    """The link's account, once: the row is locked so that two concurrent uses cannot both succeed."""
    row = session.scalar(
        select(AccountToken)
        .where(AccountToken.token_hash == token_hash, AccountToken.purpose == purpose)
        .with_for_update()
    )
    if row is None:
        raise LinkRefused("this link is not valid: ask for a new one")
    if row.used_at is not None:
        raise LinkRefused("this link was already used or replaced by a newer one: ask for a new one")
    now = datetime.now(UTC)
    if row.expires_at < now:
        raise LinkRefused("this link has expired: ask for a new one")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise LinkRefused("this link is not valid: ask for a new one")
    row.used_at = now
    return user


def mark_email_verified(session: Session, *, user: User) -> None:
    if user.email_verified_at is None:
        user.email_verified_at = datetime.now(UTC)


def reset_password(session: Session, *, user: User, password_hash: str) -> None:
    """New password; every session of the account ends (whoever knew the old password is logged out). Following
    the link proved the mailbox too."""
    user.password_hash = password_hash
    mark_email_verified(session, user=user)
    revoke_all_sessions(session, user_id=user.id)


def open_sessions(session: Session, *, user_id: uuid.UUID) -> list[RefreshToken]:
    now = datetime.now(UTC)
    return list(
        session.scalars(
            select(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None), RefreshToken.expires_at > now)
            .order_by(RefreshToken.created_at.desc())
        )
    )


def revoke_session(session: Session, *, user_id: uuid.UUID, session_id: uuid.UUID) -> bool:
    """End one of the user's sessions; False when it is not theirs or not open (the caller answers 404)."""
    row = session.get(RefreshToken, session_id)
    if row is None or row.user_id != user_id or row.revoked_at is not None:
        return False
    row.revoked_at = datetime.now(UTC)
    return True


def replace_recovery_codes(session: Session, *, user_id: uuid.UUID, code_hashes: list[str]) -> None:
    session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
        .values(used_at=datetime.now(UTC))
    )
    session.add_all(RecoveryCode(user_id=user_id, code_hash=h) for h in code_hashes)


def use_recovery_code(session: Session, *, user_id: uuid.UUID, code_hash: str) -> bool:
    row = session.scalar(
        select(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.code_hash == code_hash, RecoveryCode.used_at.is_(None))
        .with_for_update()
    )
    if row is None:
        return False
    row.used_at = datetime.now(UTC)
    return True


def recovery_codes_left(session: Session, *, user_id: uuid.UUID) -> int:
    return len(
        session.scalars(
            select(RecoveryCode.id).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
        ).all()
    )
