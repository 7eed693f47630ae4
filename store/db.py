"""Engines and sessions. SQLite gets WAL and foreign keys; PostgreSQL a sane pool."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # More connections than the API's thread pool has threads (40): a checkout made on the event loop (sync
        # SQL in an async route) then never waits for the pool while threads that need the loop hold it all (a
        # 30 s stall, then a 500, found under load by tests/faults). SQLite connections are cheap file handles.
        kwargs.setdefault("max_overflow", 64)
        # and as many kept open as the thread pool can use at once: an overflow connection is closed when returned
        # and opened again (with its pragmas) on the next busy moment, a third of the API's SQL time under load
        # (bench.load)
        kwargs.setdefault("pool_size", 40)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg"))
    kwargs.setdefault("pool_pre_ping", True)
    # a database that drops packets (rather than refusing) must not hang a request: fail fast, answer 503
    kwargs.setdefault("connect_args", {"connect_timeout": 5})
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


_shared: dict[str, Engine] = {}
_shared_lock = threading.Lock()


def shared_engine(url: str) -> Engine:
    """One engine (one connection pool) per database per process, for the long-lived parts (workers, CLI): building
    workers again reuses it instead of leaving pools behind."""
    with _shared_lock:
        if url not in _shared:
            _shared[url] = make_engine(url)
        return _shared[url]


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error.

    On SQLite the unit takes the database's write lock at its start (BEGIN IMMEDIATE; it waits up to the busy
    timeout for it). The driver would otherwise begin only at the first write, after the reads: two read-modify-write
    units (a projection refreshing the materialised detail, an invoice taking the next number) could both act on
    what they read before the other committed, and one update would be lost. PostgreSQL units lock the rows they
    change (SELECT ... FOR UPDATE)."""
    with factory() as session, session.begin():
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield session
