"""The TOTP second factor (RFC 6238, pyotp): secrets sealed at rest, codes checked with one step of clock drift
either way, login codes never accepted twice, and single-use recovery codes stored as keyed hashes.

Ops must have one before any ops route; every party is asked for a fresh code when signing a contract.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import anyio
import pyotp
import segno
from fastapi import HTTPException, status
from sqlalchemy.orm import Session, sessionmaker

from api.deps import ENROL_HINT
from config.crypto import DataCipher
from config.settings import Settings
from store import account_security
from store.db import transaction
from store.models.community import User

ISSUER = "innot"
STEP_SECONDS = 30
RECOVERY_CODES = 10


def new_secret() -> str:
    return pyotp.random_base32()


def seal(settings: Settings, user_id: object, secret: str) -> str:
    return DataCipher.from_settings(settings).seal_text(secret, associated=f"totp:{user_id}")


def unseal(settings: Settings, user: User) -> str | None:
    if user.totp_secret is None:
        return None
    return DataCipher.from_settings(settings).open_text(user.totp_secret, associated=f"totp:{user.id}")


def otpauth_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    return str(segno.make(uri, error="m").svg_inline(scale=4, dark="#111827"))


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step whose code this is (now, or one step before or after for clock drift), or None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    current = int(now if now is not None else time.time()) // STEP_SECONDS
    totp = pyotp.TOTP(secret)
    found = None
    for step in (current - 1, current, current + 1):  # no early exit: the same work whichever step matches
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def new_recovery_codes() -> list[str]:
    return [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]


def recovery_hash(settings: Settings, user_id: object, code: str) -> str:
    """Keyed and salted by the account: a leaked table alone does not give the codes away."""
    normal = code.strip().lower().replace(" ", "")
    return hmac.new(settings.secret_key.encode(), f"{user_id}:{normal}".encode(), hashlib.sha256).hexdigest()


def check_login_code(session: Session, settings: Settings, user_id: object, code: str) -> bool:
    """A login code: the authenticator's (a step not used before for a login) or an unused recovery code."""
    user = session.get(User, user_id, with_for_update=True)
    secret = unseal(settings, user) if user is not None and user.totp_enabled_at is not None else None
    if user is None or secret is None:
        return False
    step = matching_step(secret, code)
    if step is not None and (user.totp_last_step is None or step > user.totp_last_step):
        user.totp_last_step = step
        return True
    return account_security.use_recovery_code(
        session, user_id=user.id, code_hash=recovery_hash(settings, user.id, code)
    )


async def second_factor_refusal(
    factory: sessionmaker[Session], settings: Settings, user: User, code: str | None
) -> HTTPException | None:
    """Why this login must not open a session yet (its password was right), or None when it may."""
    if user.totp_enabled_at is None:
        return None
    if not code:
        return HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "second factor required: send the 6-digit code of your authenticator app (or a recovery code) as `otp`",
        )

    def check() -> bool:
        with transaction(factory) as session:
            return check_login_code(session, settings, user.id, code)

    if await anyio.to_thread.run_sync(check):
        return None
    return HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong second-factor code")


def confirm_presence(settings: Settings, user: User, code: str | None, what: str) -> None:
    """A fresh authenticator code before a legal act (signing): 403 with what to do when it is missing or wrong.
    Unlike a login code, the same code may confirm several acts in its 30 seconds (a client signing two contracts
    at once): the session is already authenticated, the code shows the person is there with their device."""
    secret = unseal(settings, user) if user.totp_enabled_at is not None else None
    if secret is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"a second factor is required to {what}: {ENROL_HINT}")
    if not code:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"to {what}, send the 6-digit code of your authenticator app as `otp`"
        )
    if matching_step(secret, code) is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"otp: wrong authenticator code: {what} was not done")
