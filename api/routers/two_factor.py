"""Enrolling a TOTP authenticator: set up (secret + QR code), enable with a first code (answers the recovery codes,
shown once), new recovery codes, disable. Ops cannot disable theirs: every ops route needs it."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
from fastapi import APIRouter, HTTPException, Request, Response, status
from sqlalchemy.orm import Session, sessionmaker

from api import second_factor as totp
from api.deps import CurrentUser, SettingsDep, forget_user
from api.errors import ERROR_RESPONSES
from api.schemas.security import RecoveryCodes, TotpCode, TotpSetup, TotpStatus
from config.settings import Settings
from store import account_security as security
from store.db import transaction
from store.models.community import User

router = APIRouter(prefix="/auth/totp", tags=["auth"], responses=ERROR_RESPONSES)


def _factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


@router.get("", response_model=TotpStatus)
async def totp_status(user: CurrentUser, request: Request) -> TotpStatus:
    def read() -> int:
        with _factory(request)() as session:
            return security.recovery_codes_left(session, user_id=user.id)

    left = await anyio.to_thread.run_sync(read) if user.totp_enabled_at else 0
    return TotpStatus(enabled=user.totp_enabled_at is not None, recovery_codes_left=left)


@router.post("/setup", response_model=TotpSetup)
async def setup(user: CurrentUser, request: Request, settings: SettingsDep) -> TotpSetup:
    """A new secret for the authenticator app (scan the QR code), in force once a first code confirms it."""
    if user.totp_enabled_at is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, "a second factor is already enrolled: disable it first")
    secret = totp.new_secret()

    def keep() -> None:
        with transaction(_factory(request)) as session:
            row = session.get(User, user.id)
            assert row is not None
            row.totp_secret = totp.seal(settings, user.id, secret)

    await anyio.to_thread.run_sync(keep)
    uri = totp.otpauth_uri(secret, user.email)
    return TotpSetup(secret=secret, otpauth_uri=uri, qr_svg=totp.qr_svg(uri))


def _with_new_codes(session: Session, settings: Settings, user: User) -> list[str]:
    codes = totp.new_recovery_codes()
    hashes = [totp.recovery_hash(settings, user.id, c) for c in codes]
    security.replace_recovery_codes(session, user_id=user.id, code_hashes=hashes)
    return codes


def enrol_at_creation(session: Session, settings: Settings, user: User) -> tuple[str, list[str]]:
    """Enrol a second factor for an account being created by a trusted operator (`innot ops create-user`): the
    secret and the recovery codes, to hand over once; the factor is required from the first login."""
    secret = totp.new_secret()
    user.totp_secret = totp.seal(settings, user.id, secret)
    user.totp_enabled_at = datetime.now(UTC)
    return secret, _with_new_codes(session, settings, user)


@router.post("/enable", response_model=RecoveryCodes)
async def enable(body: TotpCode, user: CurrentUser, request: Request, settings: SettingsDep) -> RecoveryCodes:
    """Confirm the set-up with the code the app shows: the second factor is then required at every login. The
    answer holds the recovery codes, shown this once."""
    code = body.code.get_secret_value()

    def apply() -> list[str]:
        with transaction(_factory(request)) as session:
            row = session.get(User, user.id, with_for_update=True)
            assert row is not None
            if row.totp_enabled_at is not None:
                raise HTTPException(status.HTTP_409_CONFLICT, "a second factor is already enrolled")
            secret = totp.unseal(settings, row)
            if secret is None:
                raise HTTPException(status.HTTP_409_CONFLICT, "no set-up in progress: POST /auth/totp/setup first")
            step = totp.matching_step(secret, code)
            if step is None:
                raise HTTPException(status.HTTP_400_BAD_REQUEST, "code: wrong code: check the app's clock and retry")
            row.totp_enabled_at, row.totp_last_step = datetime.now(UTC), step
            return _with_new_codes(session, settings, row)

    codes = await anyio.to_thread.run_sync(apply)
    forget_user(user.id)
    return RecoveryCodes(codes=codes)


def _confirmed(session: Session, settings: Settings, user: User, code: str) -> User:
    row = session.get(User, user.id, with_for_update=True)
    assert row is not None
    secret = totp.unseal(settings, row) if row.totp_enabled_at is not None else None
    if secret is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "no second factor is enrolled")
    if totp.matching_step(secret, code) is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "code: wrong authenticator code")
    return row


@router.post("/recovery-codes", response_model=RecoveryCodes)
async def new_recovery_codes(
    body: TotpCode, user: CurrentUser, request: Request, settings: SettingsDep
) -> RecoveryCodes:
    """New recovery codes (the previous ones stop working), confirmed by a code of the app."""

    def apply() -> list[str]:
        with transaction(_factory(request)) as session:
            return _with_new_codes(session, settings, _confirmed(session, settings, user, body.code.get_secret_value()))

    return RecoveryCodes(codes=await anyio.to_thread.run_sync(apply))


@router.post("/disable", status_code=status.HTTP_204_NO_CONTENT)
async def disable(body: TotpCode, user: CurrentUser, request: Request, settings: SettingsDep) -> Response:
    if user.role == "ops":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "ops accounts must keep their second factor")

    def apply() -> None:
        with transaction(_factory(request)) as session:
            row = _confirmed(session, settings, user, body.code.get_secret_value())
            row.totp_secret, row.totp_enabled_at, row.totp_last_step = None, None, None
            security.replace_recovery_codes(session, user_id=user.id, code_hashes=[])

    await anyio.to_thread.run_sync(apply)
    forget_user(user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
