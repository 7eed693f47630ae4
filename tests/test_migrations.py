"""The alembic migrations build exactly the schema the models describe (on SQLite, and PostgreSQL in CI)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import store.models  # noqa: F401
from store.base import Base
from store.db import make_engine
from store.migrate import upgrade

pytestmark = pytest.mark.db


def test_migrations_match_models(tmp_path: pytest.TempPathFactory, database_url: str) -> None:
    # A database of its own: the session one is built from the models directly.
    url = database_url.replace("innot.db", "migrated.db") if database_url.startswith("sqlite") else None
    if url is None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        base = make_url(database_url)
        name = f"{base.database}_mig"
        admin = create_engine(str(base.set(drivername="postgresql+psycopg")), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = str(base.set(database=name))
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
            tables = set(inspect(conn).get_table_names())
        assert diff == [], f"models and migrations disagree: {diff}"
        assert set(Base.metadata.tables) <= tables
    finally:
        engine.dispose()
