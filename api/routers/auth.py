"""Registration of both communities, login, token refresh and logout."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Literal

import anyio
import structlog
from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio.service import RPCError

from api import login_guard
from api.deps import CurrentUser, SessionDep, SettingsDep
from api.errors import ERROR_RESPONSES, ErrorBody
from api.routers import account as account_security
from api.schemas.accounts import (
    AccountCreate,
    ClientRegistration,
    ExpertRegistration,
    LoginRequest,
    RefreshRequest,
    RegistrationResult,
    TokenPair,
    UserRead,
)
from api.second_factor import second_factor_refusal
from api.security import create_access_token, hash_password, hash_token, new_refresh_token, verify_password
from config.settings import Settings
from store import accounts
from store.db import transaction
from store.models.community import RefreshToken, User
from workflows.membership import start_membership

log = structlog.get_logger(__name__)
Community = Literal["client_organisation", "expert"]
router = APIRouter(prefix="/auth", tags=["auth"], responses=ERROR_RESPONSES)


def _factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


Factory = Annotated[sessionmaker[Session], Depends(_factory)]


def _duplicate(exc: Exception) -> HTTPException:
    message = str(exc) if isinstance(exc, accounts.DuplicateEmail) else "an account with this e-mail already exists"
    return HTTPException(status.HTTP_409_CONFLICT, message)


@router.post("/register/client", status_code=status.HTTP_201_CREATED, response_model=RegistrationResult)
async def register_client(
    body: ClientRegistration, request: Request, factory: Factory, settings: SettingsDep
) -> RegistrationResult:
    """Register a client organisation with its first member. Nothing is written if any field is invalid."""
    org_fields = body.organisation.model_dump()
    org_fields["siren"] = org_fields["siret"][:9] if org_fields.get("siret") else None

    def create(session: Session, user_fields: dict[str, object]) -> tuple[User, uuid.UUID]:
        user, org = accounts.register_organisation(session, organisation=org_fields, user=user_fields)
        return user, org.id

    return await _register(request, factory, settings, body.account, "client_organisation", create)


async def _register(
    request: Request,
    factory: sessionmaker[Session],
    settings: Settings,
    account: AccountCreate,
    community: Community,
    create: Callable[[Session, dict[str, object]], tuple[User, uuid.UUID]],
) -> RegistrationResult:
    """Hash the password off the event loop, write the member, its first account and its pending membership in one
    transaction, then start its MembershipWorkflow."""
    password_hash = await hash_password(account.password.get_secret_value())
    user_fields = account.model_dump(exclude={"password"}) | {"password_hash": password_hash}
    fee = settings.fees.client_organisation if community == "client_organisation" else settings.fees.expert

    def write() -> RegistrationResult:
        with transaction(factory) as session:
            user, member_id = create(session, user_fields)
            membership = accounts.create_membership(
                session,
                community=community,
                member_id=member_id,
                schedule_version=settings.fees.version,
                fee=fee,
                currency=settings.fees.currency,
            )
            return RegistrationResult(
                user=UserRead.model_validate(user), member_id=member_id, membership_status=membership.status
            )

    try:
        result = await anyio.to_thread.run_sync(write)
    except (accounts.DuplicateEmail, IntegrityError) as exc:
        raise _duplicate(exc) from exc
    await _start_membership(request, settings, community, result)
    result.verification_email_sent = await account_security.send_verification(request, settings, result.user.id)
    return result


async def _start_membership(
    request: Request,
    settings: Settings,
    community: Literal["client_organisation", "expert"],
    result: RegistrationResult,
) -> None:
    """Start the member's MembershipWorkflow (fee invoice, reminders, activation). The account is already saved:
    if Temporal is unreachable now, `innot ops reconcile` starts the workflows of pending memberships later."""
    client = await request.app.state.connect_temporal()
    if client is None:
        log.warning("membership workflow not started: Temporal unreachable", member_id=str(result.member_id))
        return
    try:
        await start_membership(client, settings, community, result.member_id, language=result.user.language)
    except RPCError as exc:
        log.warning("membership workflow not started", member_id=str(result.member_id), error=str(exc))


@router.post("/register/expert", status_code=status.HTTP_201_CREATED, response_model=RegistrationResult)
async def register_expert(
    body: ExpertRegistration, request: Request, factory: Factory, settings: SettingsDep
) -> RegistrationResult:
    """Register an expert, who accepts the billing mandate. Nothing is written if any field is invalid."""
    profile = body.profile.model_dump()

    def create(session: Session, user_fields: dict[str, object]) -> tuple[User, uuid.UUID]:
        user, expert = accounts.register_expert(
            session, profile=profile, user=user_fields, today=datetime.now(UTC).date()
        )
        return user, expert.id

    return await _register(request, factory, settings, body.account, "expert", create)


def _issue_tokens(session: Session, settings: Settings, user: User) -> TokenPair:
    refresh = new_refresh_token()
    login = accounts.open_session(
        session, user_id=user.id, token_hash=hash_token(refresh), days=settings.refresh_token_days
    )
    access = create_access_token(settings, user_id=user.id, role=user.role, session_id=login.id)
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=settings.access_token_minutes * 60)


@router.post(
    "/login",
    response_model=TokenPair,
    responses={429: {"model": ErrorBody, "description": "too many failed logins: wait for Retry-After seconds"}},
)
async def login(
    body: LoginRequest, request: Request, response: Response, factory: Factory, settings: SettingsDep
) -> TokenPair:
    """Log in. Failed logins are limited per client address and per account with a growing wait (429 with
    Retry-After); the device cookie set here lets the account's owner in from this device all the same."""
    pair, device_token = await authenticate(body, request, factory, settings)
    login_guard.remember_device(request, response, settings, device_token)
    return pair


async def authenticate(
    body: LoginRequest,
    request: Request,
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    just_registered: bool = False,
) -> tuple[TokenPair, str]:
    """Both doors' login (the API's and the portal's): the tokens and the device cookie's value; 401 or 429.
    `just_registered`: the portal logs in the account it has just created with the password just chosen, which
    is no guess: no wait of the address holds it back."""
    email = str(body.email).lower()
    now = datetime.now(UTC)

    def lookup() -> tuple[login_guard.LoginGate, User | None]:
        with transaction(factory) as session:
            user = accounts.user_by_email(session, email=email)
            gate = login_guard.open_gate(
                session,
                request,
                settings,
                email=email,
                user_id=user.id if user else None,
                now=now,
                enforce=not just_registered,
            )
            return gate, user

    gate, user = await anyio.to_thread.run_sync(lookup)
    ok = await verify_password(body.password.get_secret_value(), user.password_hash if user else None)
    ok = ok and user is not None and user.is_active
    refusal = await second_factor_refusal(factory, settings, user, body.otp) if ok and user is not None else None
    ok = ok and refusal is None

    def record() -> TokenPair | None:
        with transaction(factory) as session:  # a wait starts when the failure is known, after the hash check
            login_guard.record(session, gate, settings, succeeded=ok, now=datetime.now(UTC))
            if not ok or user is None:
                return None
            return _issue_tokens(session, settings, user)

    def prune() -> None:
        with transaction(factory) as session:
            login_guard.prune(session, settings, now=now)

    pair = await anyio.to_thread.run_sync(record)
    if pair is None or user is None:
        await anyio.to_thread.run_sync(prune)
        raise refusal or HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong e-mail or password")
    return pair, login_guard.new_device_token(settings, user.id, now)


@router.post("/refresh", response_model=TokenPair)
def refresh(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> TokenPair:
    """Rotate the refresh token. Presenting an already rotated token revokes every session of its user."""
    row = accounts.find_refresh_token(session, token_hash=hash_token(body.refresh_token))
    if row is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown refresh token")
    if row.revoked_at is not None:
        accounts.revoke_all_sessions(session, user_id=row.user_id)
        session.commit()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "refresh token revoked: log in again")
    if row.expires_at < datetime.now(UTC):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "refresh token expired: log in again")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "account disabled")
    row.revoked_at = datetime.now(UTC)
    pair = _issue_tokens(session, settings, user)
    session.commit()
    return pair


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """Revoke this session: its refresh token and, at once, every access token issued for it."""
    row = session.get(RefreshToken, request.state.session_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserRead)
def me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)
