"""Login attempts counted per key (a client address, an account, a known device) and the time each may try again.

One row per key in the database every API replica shares. An attempt takes its place in the count before its
password is checked, by one upsert that increments the row and returns its number: a burst of concurrent attempts
cannot all slip past a count not yet written, whatever the number of replicas. An attempt past the key's allowance
gives its place back and is refused. A failure then sets the wait its number earned (never shortening one) and
allows one more attempt after it; a success gives its place back (or the caller forgets the key).

Keys are hashed with their scope: the table holds no e-mail or address in clear. Keyword-only functions over a
Session; the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.models.community import LoginThrottle

Scope = Literal["client", "account", "device"]
_INSERT: dict[str, Callable[..., Any]] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


@dataclass(frozen=True)
class Key:
    scope: Scope
    digest: str


def key(scope: Scope, value: str) -> Key:
    return Key(scope, hashlib.sha256(f"{scope}:{value}".encode()).hexdigest())


@dataclass(frozen=True)
class Backoff:
    """`free` attempts, then after each failure a wait from `first`, doubling with each failure up to `longest`."""

    free: int
    first: timedelta
    longest: timedelta

    def wait_after(self, failures: int) -> timedelta | None:
        if failures < self.free:
            return None
        return min(self.longest, self.first * (1 << min(failures - self.free, 20)))


def blocked_until(session: Session, *, keys: Sequence[Key], now: datetime) -> dict[Scope, datetime]:
    """The keys that must wait now, by scope, with the time their wait ends."""
    rows = session.execute(
        select(LoginThrottle.scope, LoginThrottle.blocked_until).where(
            LoginThrottle.key.in_([k.digest for k in keys]), LoginThrottle.blocked_until > now
        )
    )
    return {scope: until for scope, until in rows if until is not None}


def take_attempt(
    session: Session, *, login_key: Key, backoff: Backoff, now: datetime, forget_after: timedelta
) -> int | None:
    """Count this attempt; its number, or None (its place given back) if the key has no attempt left now."""
    table = LoginThrottle.__table__
    insert = _INSERT[session.get_bind().dialect.name](table).values(
        key=login_key.digest, scope=login_key.scope, attempts=1, allowed=0, last_attempt_at=now, blocked_until=None
    )
    quiet = table.c.last_attempt_at < now - forget_after  # a key quiet that long starts again from one
    attempts, allowed, until = session.execute(
        insert.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "attempts": case((quiet, 1), else_=table.c.attempts + 1),
                "allowed": case((quiet, 0), else_=table.c.allowed),
                "last_attempt_at": now,
            },
        ).returning(table.c.attempts, table.c.allowed, table.c.blocked_until)
    ).one()
    if attempts <= max(backoff.free, allowed) and (until is None or until <= now):
        return int(attempts)
    give_back(session, login_key=login_key)
    return None


def give_back(session: Session, *, login_key: Key) -> None:
    """Uncount an attempt that was refused, or that succeeded where successes do not clear the key."""
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == login_key.digest, LoginThrottle.attempts > 0)
        .values(attempts=LoginThrottle.attempts - 1)
    )


def count_failure(
    session: Session, *, login_key: Key, attempt: int, backoff: Backoff, now: datetime
) -> datetime | None:
    """The attempt numbered `attempt` failed: set the wait it earned, if any, and allow one attempt after it."""
    wait = backoff.wait_after(attempt)
    if wait is None:
        return None
    session.execute(
        update(LoginThrottle)
        .where(
            LoginThrottle.key == login_key.digest,
            or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < now + wait),
        )
        .values(blocked_until=now + wait)
    )
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == login_key.digest, LoginThrottle.allowed < attempt + 1)
        .values(allowed=attempt + 1)
    )
    return now + wait


def forget(session: Session, *, keys: Sequence[Key]) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_([k.digest for k in keys])))


def prune(session: Session, *, now: datetime, forget_after: timedelta) -> None:
    """Drop the keys quiet for `forget_after` whose wait is over: the table stays the size of current attacks."""
    session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_attempt_at < now - forget_after,
            or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < now),
        )
    )
