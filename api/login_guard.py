"""Password guessing slowed down (OWASP ASVS V2.2.1) without giving anyone a way to lock an account's owner out.

Login attempts are counted (store.throttle, in the database all API replicas share) three ways, each before its
password is checked, so that concurrent guesses cannot outrun the count:

- per client address, across every account: spraying one password over many accounts from one place stops
  after `client_failures`, then waits, each further failure doubling the wait;
- per account, for devices it does not know: guessing one account from many places stops the same way;
- per known device. A successful login sets a device cookie (OWASP's "device cookies"): signed by the server,
  naming the account and a random device id. From that device the account's owner is not held back by the
  account's or the address's waits, which an attacker elsewhere may have run up; the device has its own count,
  and a device past it is treated as unknown again until its wait is over.

A success clears the count of the account (from an unknown device) or of the device, and gives its place in the
address's count back; it never clears the address's, or one account of the attacker's own would reset it between
guesses. The device cookie is a JWT of type "device" (an access token is of type "access" and carries a session:
neither passes for the other). The client address is the one uvicorn gives
(request.client): it takes X-Forwarded-For from the proxies in INNOT_FORWARDED_ALLOW_IPS only. An IPv6 address
counts by its /64, the block one subscriber gets.
"""

from __future__ import annotations

import ipaddress
import math
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import jwt
import structlog
from fastapi import HTTPException, Request, Response, status
from sqlalchemy.orm import Session

from api.security import ALGORITHM
from config.settings import Settings
from store import throttle

log = structlog.get_logger(__name__)
DEVICE_COOKIE = "innot_device"
_WAIT_REASON: dict[throttle.Scope, str] = {
    "client": "too many failed logins from this network address",
    "account": "too many failed logins for this account from devices it does not know",
    "device": "too many failed logins for this account",
}


def client_address(request: Request) -> str:
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def new_device_token(settings: Settings, user_id: uuid.UUID, now: datetime) -> str:
    claims = {
        "typ": "device",
        "sub": str(user_id),
        "jti": secrets.token_urlsafe(16),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(days=settings.login_throttle.device_days)).timestamp()),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


def _device_of(settings: Settings, token: str | None, user_id: uuid.UUID | None) -> str | None:
    """The device id of a genuine, unexpired device cookie issued to this account; None for anything else."""
    if not token or user_id is None:
        return None
    try:
        claims = jwt.decode(token, settings.secret_key, algorithms=[ALGORITHM], options={"require": ["exp", "jti"]})
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "device" or claims.get("sub") != str(user_id):
        return None
    return str(claims["jti"])


@dataclass
class LoginGate:
    """Who is trying: the keys this attempt counts against (with its number in each), and whether the device is one
    the account knows."""

    client: throttle.Key
    account: throttle.Key
    device: throttle.Key | None
    waits: dict[throttle.Scope, datetime] = field(default_factory=dict)
    taken: dict[throttle.Key, int] = field(default_factory=dict)

    @property
    def trusted(self) -> bool:
        return self.device is not None and "device" not in self.waits

    def keys(self) -> list[throttle.Key]:
        return [k for k in (self.client, self.account, self.device) if k is not None]

    def counted_keys(self) -> list[throttle.Key]:
        return [self.device] if self.trusted and self.device is not None else [self.client, self.account]


def _backoff(settings: Settings, scope: throttle.Scope) -> throttle.Backoff:
    policy = settings.login_throttle
    free = {"client": policy.client_failures, "account": policy.account_failures, "device": policy.device_failures}
    return throttle.Backoff(
        free=free[scope],
        first=timedelta(seconds=policy.first_wait_seconds),
        longest=timedelta(seconds=policy.max_wait_seconds),
    )


def _too_many(scope: throttle.Scope, seconds: int) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        f"{_WAIT_REASON[scope]}: try again in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


def open_gate(
    session: Session,
    request: Request,
    settings: Settings,
    *,
    email: str,
    user_id: uuid.UUID | None,
    now: datetime,
    enforce: bool = True,
) -> LoginGate:
    """Count this attempt against its keys before its password is checked; 429 with Retry-After if it must wait
    (a refused attempt leaves no count: its places are given back)."""
    device = _device_of(settings, request.cookies.get(DEVICE_COOKIE), user_id)
    gate = LoginGate(
        client=throttle.key("client", client_address(request)),
        account=throttle.key("account", email.lower()),
        device=throttle.key("device", device) if device else None,
    )
    gate.waits = throttle.blocked_until(session, keys=gate.keys(), now=now)
    if not enforce:
        return gate
    held = {scope: until for scope, until in gate.waits.items() if scope != "device"}
    if held and not gate.trusted:
        scope, until = max(held.items(), key=lambda item: item[1])
        raise _too_many(scope, max(1, math.ceil((until - now).total_seconds())))
    forget_after = timedelta(seconds=settings.login_throttle.forget_after_seconds)
    for login_key in gate.counted_keys():
        number = throttle.take_attempt(
            session,
            login_key=login_key,
            backoff=_backoff(settings, login_key.scope),
            now=now,
            forget_after=forget_after,
        )
        if number is None:  # others' attempts under way have used what this key may try now
            for taken in gate.taken:
                throttle.give_back(session, login_key=taken)
            raise _too_many(login_key.scope, settings.login_throttle.first_wait_seconds)
        gate.taken[login_key] = number
    return gate


def record(session: Session, gate: LoginGate, settings: Settings, *, succeeded: bool, now: datetime) -> None:
    """Settle the attempt: a success clears the account's (or the device's) count and gives the address's place
    back; a failure sets the waits its numbers earned."""
    # rows are locked in the order the gate takes them (address, then account): two units never wait on each other
    if succeeded:
        if gate.client in gate.taken:
            throttle.give_back(session, login_key=gate.client)
        throttle.forget(session, keys=[k for k in gate.counted_keys() if k.scope != "client"])
        return
    for login_key, number in gate.taken.items():
        until = throttle.count_failure(
            session, login_key=login_key, attempt=number, backoff=_backoff(settings, login_key.scope), now=now
        )
        if until is not None:
            log.warning("logins held back", scope=login_key.scope, key=login_key.digest[:12], until=until.isoformat())


def prune(session: Session, settings: Settings, *, now: datetime) -> None:
    """In a unit of its own, holding no other row: it cannot take part in a deadlock."""
    throttle.prune(session, now=now, forget_after=timedelta(seconds=settings.login_throttle.forget_after_seconds))


def remember_device(request: Request, response: Response, settings: Settings, token: str) -> None:
    """Set the device cookie a successful login earned (sent back to both login doors, the API's and the portal's)."""
    response.set_cookie(
        DEVICE_COOKIE,
        token,
        max_age=settings.login_throttle.device_days * 86400,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )
