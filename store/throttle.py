"""Failed logins counted per key (a client address, an account, a known device) and the time each may try again.

One row per key in the database every API replica shares. A failure is counted by one upsert that increments
the row in place, so two replicas counting at once both count; the wait it earns is then set, never shortened.
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
    """`free` failures, then a wait from `first` doubling with each further failure up to `longest`."""

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


def count_failure(
    session: Session, *, login_key: Key, backoff: Backoff, now: datetime, forget_after: timedelta
) -> datetime | None:
    """Count one failure for the key; the end of the wait it earned, if any."""
    table = LoginThrottle.__table__
    insert = _INSERT[session.get_bind().dialect.name](table).values(
        key=login_key.digest, scope=login_key.scope, failures=1, last_failure_at=now, blocked_until=None
    )
    failures = session.execute(
        insert.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                # a key quiet for `forget_after` starts again from one
                "failures": case((table.c.last_failure_at < now - forget_after, 1), else_=table.c.failures + 1),
                "last_failure_at": now,
            },
        ).returning(table.c.failures)
    ).scalar_one()
    wait = backoff.wait_after(failures)
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
    return now + wait


def forget(session: Session, *, keys: Sequence[Key]) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_([k.digest for k in keys])))


def prune(session: Session, *, now: datetime, forget_after: timedelta) -> None:
    """Drop the keys quiet for `forget_after` whose wait is over: the table stays the size of current attacks."""
    session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < now - forget_after,
            or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < now),
        )
    )
