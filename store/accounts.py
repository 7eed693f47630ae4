"""Account services: registration of both communities, sessions (refresh tokens), ops users (login limits:
store.throttle).

Keyword-only functions over a Session; the caller owns the transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store import directory
from store.models.community import Expert, Membership, Organisation, RefreshToken, User


class DuplicateEmail(Exception):
    def __init__(self, email: str) -> None:
        super().__init__(f"an account with e-mail {email} already exists")


def _check_email_free(session: Session, email: str) -> None:
    if session.scalar(select(func.count()).select_from(User).where(func.lower(User.email) == email.lower())):
        raise DuplicateEmail(email)


def create_user(
    session: Session,
    *,
    email: str,
    full_name: str,
    password_hash: str,
    role: str,
    language: str = "en",
    organisation_id: uuid.UUID | None = None,
    expert_id: uuid.UUID | None = None,
    org_role: str | None = None,
) -> User:
    _check_email_free(session, email)
    user = User(
        email=email.lower(),
        full_name=full_name,
        password_hash=password_hash,
        role=role,
        language=language,
        organisation_id=organisation_id,
        expert_id=expert_id,
        org_role=org_role,
        # staff accounts are opened by an administrator for a known address; members prove theirs by the link
        email_verified_at=datetime.now(UTC) if role == "ops" else None,
    )
    session.add(user)
    session.flush()
    return user


def create_membership(
    session: Session,
    *,
    community: str,
    member_id: uuid.UUID,
    schedule_version: str,
    fee: Decimal,
    currency: str,
) -> Membership:
    membership = Membership(
        community=community,
        member_id=member_id,
        status="pending",
        onboarding_status="profile",  # listed to ops at once, even before its workflow writes (domain.onboarding)
        fee_schedule_version=schedule_version,
        fee_amount=fee,
        currency=currency,
    )
    session.add(membership)
    return membership


def register_organisation(
    session: Session, *, organisation: dict[str, object], user: dict[str, object]
) -> tuple[User, Organisation]:
    _check_email_free(session, str(user["email"]))
    org = Organisation(**organisation)
    session.add(org)
    session.flush()
    # the first registrant of an organisation is its admin (domain.org_roles): they invite their colleagues
    member = create_user(session, role="client", organisation_id=org.id, org_role="admin", **user)  # type: ignore[arg-type]
    return member, org


def register_expert(
    session: Session, *, profile: dict[str, object], user: dict[str, object], today: date
) -> tuple[User, Expert]:
    _check_email_free(session, str(user["email"]))
    siret = profile.get("siret")
    expert = Expert(
        **{k: v for k, v in profile.items() if k != "billing_mandate_accepted"},
        siren=str(siret)[:9] if siret else None,
        billing_mandate_accepted_on=today,
        membership_active=False,
    )
    session.add(expert)
    session.flush()
    directory.reindex(session, expert)  # its public words, for the directory's full-text search
    member = create_user(session, role="expert", expert_id=expert.id, **user)  # type: ignore[arg-type]
    return member, expert


def open_session(session: Session, *, user_id: uuid.UUID, token_hash: str, days: int) -> RefreshToken:
    row = RefreshToken(user_id=user_id, token_hash=token_hash, expires_at=datetime.now(UTC) + timedelta(days=days))
    session.add(row)
    session.flush()
    return row


def find_refresh_token(session: Session, *, token_hash: str) -> RefreshToken | None:
    return session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash))


def revoke_all_sessions(session: Session, *, user_id: uuid.UUID) -> None:
    now = datetime.now(UTC)
    for row in session.scalars(
        select(RefreshToken).where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
    ):
        row.revoked_at = now


def user_by_email(session: Session, *, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.lower()))
