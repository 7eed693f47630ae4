"""Password hashing (argon2 via pwdlib, off the event loop), JWT access tokens and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import anyio
import jwt
from pwdlib import PasswordHash

from config.settings import Settings

_hasher = PasswordHash.recommended()
ALGORITHM = "HS256"
# A real hash to verify against when the e-mail is unknown, so that timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash("dummy-password-for-timing")


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    return await anyio.to_thread.run_sync(_hasher.verify, password, password_hash or _DUMMY_HASH) and bool(
        password_hash
    )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_refresh_token() -> str:
    return secrets.token_urlsafe(48)


def create_access_token(
    settings: Settings, *, user_id: UUID, role: str, session_id: UUID, now: datetime | None = None
) -> str:
    now = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "role": role,
        "sid": str(session_id),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=settings.access_token_minutes)).timestamp()),
        "typ": "access",
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


class InvalidToken(Exception):
    pass


# Tokens whose signature was verified, with their claims: a client sends the same token on every request for its
# lifetime, and verifying it again (PyJWT) was a tenth of an action's time in the API (bench.api). Keyed by the
# signing key too; the expiry is checked on every use.
_verified: dict[tuple[str, str], dict[str, Any]] = {}
VERIFIED_CACHE_SIZE = 20_000


def decode_access_token(settings: Settings, token: str) -> dict[str, Any]:
    key = (settings.secret_key, token)
    cached = _verified.get(key)
    if cached is not None:
        if cached["exp"] <= time.time():
            _verified.pop(key, None)
            raise InvalidToken("access token expired")
        return dict(cached)
    claims = _decode_access_token(settings, token)
    if len(_verified) >= VERIFIED_CACHE_SIZE:
        _verified.clear()
    _verified[key] = claims
    return dict(claims)


def _decode_access_token(settings: Settings, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token, settings.secret_key, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "sid"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("access token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("invalid access token") from exc
    if claims.get("typ") != "access":
        raise InvalidToken("not an access token")
    return claims
