"""The HTTP side of the demos (`innot demo`, the first run's demo missions, tests and benchmarks): a party and its
session, the API's answers checked, waits on what a person would see, and the account steps after registration."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp

if TYPE_CHECKING:
    from api.account_mail import Outbox

PASSWORD = "Demo-Passw0rd!-2026"  # noqa: S105 - demo accounts on a development database


class DemoError(Exception):
    pass


@dataclass
class Party:
    email: str
    headers: dict[str, str] = field(default_factory=dict)
    member_id: str = ""
    totp_secret: str | None = None  # the authenticator app the party enrolled
    recovery_codes: list[str] = field(default_factory=list)  # each opens one more login (a TOTP code opens one)

    def otp(self) -> str:
        """What the party's authenticator app shows now."""
        if self.totp_secret is None:
            raise DemoError(f"{self.email} has no second factor enrolled")
        return pyotp.TOTP(self.totp_secret).now()


async def _ok(response: Awaitable[httpx.Response], expected: int = 200) -> Any:
    answer = await response
    if answer.status_code != expected:
        raise DemoError(f"{answer.request.method} {answer.request.url.path}: {answer.status_code} {answer.text[:500]}")
    return answer.json() if answer.content and "json" in answer.headers.get("content-type", "") else answer


async def _until(what: str, probe: Callable[[], Awaitable[Any]], within: float = 180.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.25)
    raise DemoError(f"timed out waiting for {what}")


def _address(country: str = "FR") -> dict[str, str]:
    return {"address_line": "12 quai des Chartrons", "postcode": "33000", "city": "Bordeaux", "country": country}


async def _login(api: httpx.AsyncClient, party: Party) -> None:
    body = {"email": party.email, "password": PASSWORD} | ({"otp": party.otp()} if party.totp_secret else {})
    tokens = await _ok(api.post("/auth/login", json=body))
    party.headers = {"Authorization": f"Bearer {tokens['access_token']}"}


async def verify_email(api: httpx.AsyncClient, party: Party, outbox: Outbox) -> None:
    """Follow the link of the verification e-mail the party received, as a person would."""
    link = urlsplit(outbox.link(party.email, "verify_email"))
    await _ok(api.post("/auth/verify-email", json={"token": parse_qs(link.query)["token"][0]}))


async def enrol_second_factor(api: httpx.AsyncClient, party: Party) -> None:
    """Enrol an authenticator app (its secret kept on the party): ops need one for every ops route, and each
    party confirms its signature with a code."""
    setup = await _ok(api.post("/auth/totp/setup", headers=party.headers))
    party.totp_secret = setup["secret"]
    codes = await _ok(api.post("/auth/totp/enable", json={"code": party.otp()}, headers=party.headers))
    party.recovery_codes = list(codes["codes"])


async def open_account(api: httpx.AsyncClient, party: Party, outbox: Outbox) -> None:
    """After registration: log in, verify the e-mail address, enrol the second factor."""
    await _login(api, party)
    await verify_email(api, party, outbox)
    await enrol_second_factor(api, party)
