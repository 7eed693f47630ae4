"""`innot dev`'s demo missions (cli/demo_missions.py) for the demo accounts that `cli.bootstrap` created.

The seeder acts for the demo's parties through the API. It does not know their passwords (printed once, and theirs
to change): it opens a login session for each, as the login would after checking the password, and ends these
sessions when it is done, so the accounts' session lists show nothing of it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker

from api.security import create_access_token, hash_token, new_refresh_token
from cli.bootstrap import DEMO_EXPERT_PROFILES
from cli.demo_http import DemoError, Party
from cli.demo_missions import seed_missions
from config.settings import Settings
from store import account_security, accounts
from store.db import make_session_factory, shared_engine, transaction

CLIENT_EMAIL = "client@demo.innot.example"
EXPERT_EMAILS = tuple(f"{role}@demo.innot.example" for role in DEMO_EXPERT_PROFILES)


@asynccontextmanager
async def demo_parties(
    factory: sessionmaker[Session], settings: Settings
) -> AsyncIterator[tuple[Party, list[Party]] | None]:
    """The demo client and experts, each with a login session (ended on exit); None when the database has not
    every demo account (created before the demo had three experts, or by hand)."""
    opened: list[tuple[uuid.UUID, uuid.UUID]] = []
    with transaction(factory) as session:
        users = [accounts.user_by_email(session, email=e) for e in (CLIENT_EMAIL, *EXPERT_EMAILS)]
        if any(u is None for u in users):
            found = None
        else:
            parties = []
            for user in users:
                assert user is not None
                secret = hash_token(new_refresh_token())
                row = accounts.open_session(session, user_id=user.id, token_hash=secret, days=1)
                opened.append((user.id, row.id))
                token = create_access_token(settings, user_id=user.id, role=user.role, session_id=row.id)
                member = user.organisation_id if user.role == "client" else user.expert_id
                parties.append(Party(user.email, {"Authorization": f"Bearer {token}"}, str(member)))
            found = (parties[0], parties[1:])
    try:
        yield found
    finally:
        with transaction(factory) as session:
            for user_id, session_id in opened:
                account_security.revoke_session(session, user_id=user_id, session_id=session_id)


async def seed_demo_missions(
    api: httpx.AsyncClient, settings: Settings, report: Callable[[str], None] = lambda _line: None
) -> dict[str, str]:
    """Drive the demo missions through `api`; {scenario: stage}, empty when the demo accounts are missing."""
    factory = make_session_factory(shared_engine(settings.database_url))
    async with demo_parties(factory, settings) as parties:
        if parties is None:
            report("The demo accounts are not all there: no demo missions.")
            return {}
        client, experts = parties
        return await seed_missions(api, client, experts, report)


def seed_in_dev(settings: Settings, base_url: str, console: Console) -> None:
    """For `innot dev`, once the API answers: the demo missions, through the running API (a failure is reported,
    the platform keeps running)."""

    async def run() -> dict[str, str]:
        async with httpx.AsyncClient(base_url=base_url, timeout=120) as api:
            return await seed_demo_missions(api, settings, lambda line: console.print(line, highlight=False))

    console.print("Demo missions of the demo client (posted once, then found again)...")
    try:
        asyncio.run(run())
    except (DemoError, httpx.HTTPError) as exc:
        console.print(f"[yellow]the demo missions are incomplete: {exc}[/yellow]")
