"""Password guessing is held back per client address and per account, with a growing wait (429 + Retry-After),
on every API replica at once; the account's owner still gets in from a device it logged in with before."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import httpx
import jwt
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.app import create_app
from api.login_guard import DEVICE_COOKIE, client_address
from api.security import hash_password
from config.settings import LoginThrottle, Settings
from store import accounts, throttle
from store.db import transaction
from tests.api.conftest import PASSWORD, unique_email

WRONG = "Wrong-password-1"


@asynccontextmanager
async def client_at(app: Any, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client (its own cookie jar: a device) at a given address, as uvicorn would report it."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://innot.test") as client:
        yield client


@pytest.fixture
def strict_app(api_settings: Settings, engine: Engine) -> FastAPI:
    """An app that holds back after fewer failures: each failure costs a password hash check, slow by design."""
    limits = LoginThrottle(client_failures=3, account_failures=3, device_failures=2)
    application = create_app(api_settings.model_copy(update={"login_throttle": limits}), engine=engine)
    application.state.owns_engine = False
    return application


@pytest.fixture(scope="module")
async def members(session_factory: sessionmaker[Session]) -> Callable[[int], list[str]]:
    """Accounts with PASSWORD, written directly: hashing a password for each through the API is most of the time."""
    password_hash = await hash_password(PASSWORD)

    def create(count: int) -> list[str]:
        emails = [unique_email("member") for _ in range(count)]
        with transaction(session_factory) as session:
            for email in emails:
                accounts.create_user(session, email=email, full_name="M", password_hash=password_hash, role="client")
        return emails

    return create


def attempt(client: httpx.AsyncClient, email: str, password: str = WRONG) -> Any:
    return client.post("/auth/login", json={"email": email, "password": password})


def subnet() -> Callable[[int], str]:
    n = uuid.uuid4().int
    return lambda host: f"172.{16 + (n & 15)}.{n >> 4 & 255}.{host}"


async def test_spraying_accounts_from_one_address_is_held_back_on_every_replica(
    app: FastAPI, api_settings: Settings, engine: Engine, members: Callable[[int], list[str]]
) -> None:
    victims = members(15)
    attacker = subnet()(66)
    answers = []
    async with client_at(app, attacker) as spray:
        for email in victims[:12]:
            answers.append(await attempt(spray, email))
    allowed = api_settings.login_throttle.client_failures
    assert [a.status_code for a in answers] == [401] * allowed + [429] * (12 - allowed)
    held = answers[-1]
    assert 1 <= int(held.headers["Retry-After"]) <= api_settings.login_throttle.first_wait_seconds
    assert "from this network address" in held.json()["detail"]
    # another API replica (its own process, the same database) holds the same address back
    replica = create_app(api_settings, engine=engine)
    replica.state.owns_engine = False
    async with client_at(replica, attacker) as spray_elsewhere:
        for email in victims[12:]:
            assert (await attempt(spray_elsewhere, email)).status_code == 429
    # the members themselves, elsewhere, are not held back
    async with client_at(replica, subnet()(7)) as member:
        assert (await attempt(member, victims[0], PASSWORD)).status_code == 200


async def test_the_owner_gets_in_from_a_known_device_while_the_account_is_attacked(
    strict_app: FastAPI, members: Callable[[int], list[str]]
) -> None:
    app, limits = strict_app, strict_app.state.settings.login_throttle
    (email,), net = members(1), subnet()
    async with client_at(app, net(10)) as laptop:
        first = await attempt(laptop, email, PASSWORD)
        assert first.status_code == 200
        cookie = first.cookies[DEVICE_COOKIE]
        set_cookie = first.headers["set-cookie"].lower()
        assert "httponly" in set_cookie and "samesite=strict" in set_cookie
        # an attacker guesses the account's password from many addresses: a lock-out, for devices it does not know
        for host in range(20, 20 + limits.account_failures + 2):
            async with client_at(app, net(host)) as attacker:
                await attempt(attacker, email)
        async with client_at(app, net(40)) as attacker:
            held = await attempt(attacker, email, PASSWORD)
            assert held.status_code == 429, "the right password from an unknown device waits too: no oracle"
            assert "devices it does not know" in held.json()["detail"]
            # a device cookie of the attacker's own account does not vouch for another account
            (own,) = members(1)
            assert (await attempt(attacker, own, PASSWORD)).status_code == 200
            assert (await attempt(attacker, email, PASSWORD)).status_code == 429
            # nor does one forged without the server's key
            forged = jwt.encode(
                {
                    "typ": "device",
                    "sub": jwt.decode(cookie, options={"verify_signature": False})["sub"],
                    "jti": "x",
                    "exp": int((datetime.now(UTC) + timedelta(days=1)).timestamp()),
                },
                "not-the-server-key-" * 3,
                algorithm="HS256",
            )
            attacker.cookies.set(DEVICE_COOKIE, forged)
            assert (await attempt(attacker, email, PASSWORD)).status_code == 429
        # the owner, from the laptop the account knows, is not locked out by someone else's guesses
        again = await attempt(laptop, email, PASSWORD)
        assert again.status_code == 200, again.text
        # a known device that guesses wrong too often is a stranger again until its own wait is over
        for _ in range(limits.device_failures):
            assert (await attempt(laptop, email)).status_code == 401
        assert (await attempt(laptop, email, PASSWORD)).status_code == 429


async def test_behind_a_configured_proxy_each_client_is_counted_by_its_own_address(
    strict_app: FastAPI, members: Callable[[int], list[str]]
) -> None:
    app = strict_app
    victims = [*members(1), *(unique_email("nobody") for _ in range(4))]  # unknown e-mails count the same
    net = subnet()
    proxy = net(1)
    behind = ProxyHeadersMiddleware(app, trusted_hosts=[proxy])  # what `innot api` runs with INNOT_FORWARDED_ALLOW_IPS
    attacker, member = net(101), net(102)
    async with client_at(behind, proxy) as through_proxy:
        statuses = [
            (
                await through_proxy.post(
                    "/auth/login", json={"email": e, "password": WRONG}, headers={"X-Forwarded-For": attacker}
                )
            ).status_code
            for e in victims
        ]
        assert statuses[-1] == 429, "the attacker behind the proxy is held back by its own address"
        ok = await through_proxy.post(
            "/auth/login", json={"email": victims[0], "password": PASSWORD}, headers={"X-Forwarded-For": member}
        )
        assert ok.status_code == 200, "another client behind the same proxy is not"
    # without that trust, X-Forwarded-For is the sender's word: rotating it changes nothing
    async with client_at(app, net(200)) as direct:
        statuses = [
            (
                await direct.post(
                    "/auth/login", json={"email": e, "password": WRONG}, headers={"X-Forwarded-For": net(150 + i)}
                )
            ).status_code
            for i, e in enumerate(victims)
        ]
    assert statuses[-1] == 429


def test_an_address_is_counted_as_one_subscriber_has_it() -> None:
    def at(host: str) -> str:
        return client_address(cast(Request, SimpleNamespace(client=SimpleNamespace(host=host))))

    assert at("2001:db8:5:1::1") == at("2001:db8:5:1:ffff::2") == "2001:db8:5:1::/64"  # rotating inside one /64
    assert at("2001:db8:5:2::1") != at("2001:db8:5:1::1")
    assert at("::ffff:203.0.113.7") == at("203.0.113.7") == "203.0.113.7"


def test_the_wait_doubles_with_each_failure_and_a_quiet_key_starts_again(
    session_factory: sessionmaker[Session],
) -> None:
    backoff = throttle.Backoff(free=3, first=timedelta(seconds=30), longest=timedelta(minutes=15))
    login_key, forget_after = throttle.key("account", unique_email("k")), timedelta(hours=1)
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def take(at: datetime) -> int | None:
        return throttle.take_attempt(session, login_key=login_key, backoff=backoff, now=at, forget_after=forget_after)

    waits = []
    with transaction(session_factory) as session:
        for n in range(1, 10):
            assert take(now) == n
            until = throttle.count_failure(session, login_key=login_key, attempt=n, backoff=backoff, now=now)
            waits.append(None if until is None else int((until - now).total_seconds()))
            if until is not None:
                assert take(until - timedelta(seconds=1)) is None, "no attempt before the wait is over"
            now = (until or now) + timedelta(seconds=1)  # the next attempt comes once the wait is over
        assert waits == [None, None, 30, 60, 120, 240, 480, 900, 900]
        assert throttle.blocked_until(session, keys=[login_key], now=now) == {}
        later = now + timedelta(hours=2)
        assert take(later) == 1, "two quiet hours: counting starts again from one"


def test_attempts_under_way_count_so_that_a_burst_gets_no_more_than_its_allowance(
    session_factory: sessionmaker[Session],
) -> None:
    backoff = throttle.Backoff(free=3, first=timedelta(seconds=30), longest=timedelta(minutes=15))
    login_key, forget_after = throttle.key("client", f"burst-{uuid.uuid4()}"), timedelta(hours=1)
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with transaction(session_factory) as session:
        # five attempts at once, none settled yet: three are let through to the password check
        numbers = [
            throttle.take_attempt(session, login_key=login_key, backoff=backoff, now=now, forget_after=forget_after)
            for _ in range(5)
        ]
        assert numbers == [1, 2, 3, None, None]
        for n in (1, 2, 3):
            until = throttle.count_failure(session, login_key=login_key, attempt=n, backoff=backoff, now=now)
        assert until == now + timedelta(seconds=30)
        after = now + timedelta(seconds=31)
        burst = [
            throttle.take_attempt(session, login_key=login_key, backoff=backoff, now=after, forget_after=forget_after)
            for _ in range(3)
        ]
        assert burst == [4, None, None], "after the wait, one attempt; the next wait depends on it"


async def test_a_burst_of_concurrent_guesses_gets_no_more_than_the_allowance(
    strict_app: FastAPI, members: Callable[[int], list[str]]
) -> None:
    victims = [*members(1), *(unique_email("nobody") for _ in range(7))]
    async with client_at(strict_app, subnet()(9)) as spray:
        answers = await asyncio.gather(*(attempt(spray, email) for email in victims))
    statuses = sorted(a.status_code for a in answers)
    allowance = strict_app.state.settings.login_throttle.client_failures
    assert statuses == [401] * allowance + [429] * (len(victims) - allowance)
