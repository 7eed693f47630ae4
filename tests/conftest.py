"""Shared fixtures: a fresh database per run (SQLite, or PostgreSQL when INNOT_TEST_POSTGRES_URL is set) and
Temporal environments on the installed binaries (time-skipping test server and the real dev server)."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from store.db import make_engine, make_session_factory
from store.migrate import upgrade
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

POSTGRES_URL = os.environ.get("INNOT_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database for this test process (one per xdist worker)."""
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'innot.db'}"
        return
    name = f"innot_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        str(make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield str(make_url(POSTGRES_URL).set(database=name))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)  # the schema comes from the migrations, as in production
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


def _binary(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        raise RuntimeError(f"{name} not installed: run `make test` (it installs the dev extra)")
    return found


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_time_skipping()
    yield env
    await env.shutdown()


async def start_time_skipping() -> WorkflowEnvironment:
    """Temporal's time-skipping test server (installed binary) with the pydantic converter."""
    return await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=_binary("temporal-test-server")
    )


async def start_dev_server() -> WorkflowEnvironment:
    """The real Temporal dev server (in memory) with our search attributes and the pydantic converter."""
    return await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=_binary("temporal"),
        search_attributes=list(SEARCH_ATTRIBUTES),
        ui=False,
    )


@pytest.fixture(scope="session")
async def dev_server_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_dev_server()
    yield env
    await env.shutdown()


@pytest.fixture(params=["time-skipping", "dev-server"])
def workflow_env(request: pytest.FixtureRequest) -> WorkflowEnvironment:
    """Run the test once on the time-skipping server and once on the real dev server."""
    fixture = "time_skipping_env" if request.param == "time-skipping" else "dev_server_env"
    env: WorkflowEnvironment = request.getfixturevalue(fixture)
    return env


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"


@pytest.fixture(autouse=True)
def _forget_failed_logins(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests of one worker share a database and a client address: the failed logins a test counted (on purpose or
    not) are forgotten after it, so that the next test's logins are not held back by its neighbour's."""
    yield
    if "engine" not in request.fixturenames:
        return
    engine: Engine = request.getfixturevalue("engine")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM login_throttles"))
