"""The account's own security: e-mail verification, password reset by e-mail, and the list of one's sessions.

The links are signed, expire and work once (api.account_links, store.account_security). Asking for a password
reset answers the same, at once, for a known and an unknown address: the lookup and the e-mail happen after the
answer, so neither its content, its status nor its timing tells whether an account exists.
"""

from __future__ import annotations

import uuid
from contextlib import suppress
from typing import Annotated

import anyio
import structlog
from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request, Response, status
from sqlalchemy.orm import Session, sessionmaker

from api.account_links import RESET_PASSWORD_TTL, VERIFY_EMAIL_TTL, new_link_token, signed_hash
from api.account_mail import Kind, Mailer, MailUnavailable, send_account_email
from api.deps import CurrentUser, SettingsDep, forget_user
from api.errors import ERROR_RESPONSES, ErrorBody
from api.schemas.security import Done, ForgotPassword, LinkToken, NewPassword, SessionRead
from api.security import hash_password
from config.settings import Settings
from domain import identifiers
from store import account_security as security
from store import accounts
from store.account_security import RESET_PASSWORD, VERIFY_EMAIL, LinkRefused
from store.db import transaction
from store.models.community import User

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/auth", tags=["auth"], responses=ERROR_RESPONSES)
RESET_ANSWER = "if an account uses this address, a link to choose a new password is on its way (valid one hour)"
_LINK_ERRORS: dict[int | str, dict[str, object]] = {400: {"model": ErrorBody, "description": "link not valid"}}
_MAIL_DOWN: dict[int | str, dict[str, object]] = {503: {"model": ErrorBody, "description": "mail server down"}}


def _factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def _mailer(request: Request) -> Mailer | None:
    mailer: Mailer | None = request.app.state.mailer
    return mailer


Factory = Annotated[sessionmaker[Session], Depends(_factory)]


async def _send_link(
    factory: sessionmaker[Session], mailer: Mailer | None, settings: Settings, user_id: uuid.UUID, kind: Kind
) -> None:
    """A new link (the previous ones of this kind stop working) and its e-mail; MailUnavailable when not sent."""
    purpose, ttl = (VERIFY_EMAIL, VERIFY_EMAIL_TTL) if kind == "verify_email" else (RESET_PASSWORD, RESET_PASSWORD_TTL)
    token, token_hash = new_link_token(settings, purpose)

    def issue() -> tuple[User, uuid.UUID] | None:
        with transaction(factory) as session:
            user = session.get(User, user_id)
            if user is None:
                return None
            row = security.issue_link(session, user_id=user_id, purpose=purpose, token_hash=token_hash, ttl=ttl)
            return user, row.id

    def retire(keep: uuid.UUID) -> None:
        with transaction(factory) as session:
            security.retire_older_links(session, user_id=user_id, purpose=purpose, keep=keep)

    issued = await anyio.to_thread.run_sync(issue)
    if issued is not None:
        await send_account_email(mailer, settings, user=issued[0], kind=kind, token=token)
        await anyio.to_thread.run_sync(retire, issued[1])


async def send_verification(request: Request, settings: Settings, user_id: uuid.UUID) -> bool:
    """At registration: the verification e-mail; False (logged) when the mail server did not take it."""
    try:
        await _send_link(_factory(request), _mailer(request), settings, user_id, "verify_email")
    except MailUnavailable:
        return False
    return True


@router.post("/verify-email", response_model=Done, responses=_LINK_ERRORS)
async def verify_email(body: LinkToken, factory: Factory, settings: SettingsDep) -> Done:
    """Follow the verification link: the account may then post needs, accept invitations and sign."""
    token_hash = signed_hash(settings, VERIFY_EMAIL, body.token)
    if token_hash is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "token: this link is not valid: ask for a new one")

    def consume() -> uuid.UUID:
        with transaction(factory) as session:
            user = security.consume_link(session, purpose=VERIFY_EMAIL, token_hash=token_hash)
            security.mark_email_verified(session, user=user)
            return user.id

    try:
        user_id = await anyio.to_thread.run_sync(consume)
    except LinkRefused as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"token: {exc}") from exc
    forget_user(user_id)
    return Done(detail="e-mail address verified")


@router.post("/verify-email/resend", status_code=status.HTTP_202_ACCEPTED, response_model=Done, responses=_MAIL_DOWN)
async def resend_verification(user: CurrentUser, request: Request, settings: SettingsDep) -> Done:
    if user.email_verified_at is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, "your e-mail address is already verified")
    try:
        await _send_link(_factory(request), _mailer(request), settings, user.id, "verify_email")
    except MailUnavailable as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the mail server is not reachable: ask again in a few minutes"
        ) from exc
    return Done(detail=f"a new verification link was sent to {user.email}; the previous ones no longer work")


@router.post("/password/forgot", status_code=status.HTTP_202_ACCEPTED, response_model=Done)
async def forgot_password(
    body: ForgotPassword, background: BackgroundTasks, request: Request, settings: SettingsDep
) -> Done:
    """Ask for a password reset link. The answer is the same whether or not the address has an account."""
    background.add_task(_reset_link_for, _factory(request), _mailer(request), settings, str(body.email).lower())
    return Done(detail=RESET_ANSWER)


async def _reset_link_for(
    factory: sessionmaker[Session], mailer: Mailer | None, settings: Settings, email: str
) -> None:
    def lookup() -> uuid.UUID | None:
        with factory() as session:
            user = accounts.user_by_email(session, email=email)
            return user.id if user is not None and user.is_active else None

    user_id = await anyio.to_thread.run_sync(lookup)
    if user_id is None:
        return
    with suppress(MailUnavailable):  # logged; telling the asker would tell them the account exists
        await _send_link(factory, mailer, settings, user_id, "reset_password")


@router.post("/password/reset", response_model=Done, responses=_LINK_ERRORS)
async def reset_password(body: NewPassword, factory: Factory, settings: SettingsDep) -> Done:
    """Follow the reset link with a new password, once; every session of the account is logged out."""
    token_hash = signed_hash(settings, RESET_PASSWORD, body.token)
    if token_hash is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "token: this link is not valid: ask for a new one")
    password = body.password.get_secret_value()
    password_hash = await hash_password(password)

    def apply() -> uuid.UUID:
        with transaction(factory) as session:
            user = security.consume_link(session, purpose=RESET_PASSWORD, token_hash=token_hash)
            identifiers.password_strength(password, email=user.email)  # raises before anything is kept
            security.reset_password(session, user=user, password_hash=password_hash)
            return user.id

    try:
        user_id = await anyio.to_thread.run_sync(apply)
    except LinkRefused as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"token: {exc}") from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"password: {exc}") from exc
    forget_user(user_id)
    return Done(detail="password changed; every session was logged out: log in with the new password")


@router.get("/sessions", response_model=list[SessionRead])
async def list_sessions(user: CurrentUser, request: Request) -> list[SessionRead]:
    """My open sessions (one per login, renewed by each refresh), newest first."""
    current = getattr(request.state, "session_id", None)

    def read() -> list[SessionRead]:
        with _factory(request)() as session:
            rows = security.open_sessions(session, user_id=user.id)
            return [
                SessionRead(id=r.id, created_at=r.created_at, expires_at=r.expires_at, current=r.id == current)
                for r in rows
            ]

    return await anyio.to_thread.run_sync(read)


@router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_session(session_id: uuid.UUID, user: CurrentUser, request: Request) -> Response:
    """Log one of my sessions out (its refresh token and its access tokens stop working at once)."""

    def revoke() -> bool:
        with transaction(_factory(request)) as session:
            return security.revoke_session(session, user_id=user.id, session_id=session_id)

    if not await anyio.to_thread.run_sync(revoke):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "session not found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
