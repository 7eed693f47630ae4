"""The alembic migrations build exactly the schema the models describe (on SQLite, and PostgreSQL in CI)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

import store.models  # noqa: F401
from store.base import Base
from store.db import make_engine
from store.migrate import upgrade
from store.models.directory import include_name

pytestmark = pytest.mark.db


def _fresh_database(database_url: str, suffix: str) -> str:
    """A database of its own, beside the session's (which is built once for the whole run)."""
    if database_url.startswith("sqlite"):
        return database_url.replace("innot.db", f"{suffix}.db")
    base = make_url(database_url)
    name = f"{base.database}_{suffix}"
    admin = create_engine(str(base.set(drivername="postgresql+psycopg")), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return str(base.set(database=name))


def test_migrations_match_models(database_url: str) -> None:
    url = _fresh_database(database_url, "mig")
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            opts = {"compare_type": True, "include_name": include_name}  # as store/migrations/env.py compares
            diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
            tables = set(inspect(conn).get_table_names())
        assert diff == [], f"models and migrations disagree: {diff}"
        assert set(Base.metadata.tables) <= tables
    finally:
        engine.dispose()


def test_timeline_events_recorded_before_get_the_expert_they_concern(database_url: str) -> None:
    """Events stored before the timeline named its experts: a candidate's by what the row kept (an invitation's
    summary), the contract's by the contractor; one that cannot be attributed stays unnamed (no expert sees it).
    The materialised details are cleared, to be rebuilt with the names."""
    url = _fresh_database(database_url, "mig_expert")
    upgrade(url, "7c1e2a9b4d10")
    mission_id, winner, loser = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    wf, t0 = f"mission:{mission_id}", datetime(2030, 1, 1, 9, tzinfo=UTC)
    events = [  # (workflow, kind, summary, details)
        (wf, "need_submitted", "Budget", {}),
        (wf, "expert_invited", str(winner), {}),
        (wf, "expert_invited", str(loser), {}),
        (wf, "invitation_expired", "no answer in time", {}),
        (wf, "stage:contract", "proposal selected", {"from": "proposals", "expert_id": str(winner)}),
        (wf, "contract_ready", "contract ready to sign", {"sha256": "0" * 64}),
        (f"{wf}:milestone:1", "milestone:awaiting_payment", "invoice FA-1 issued", {"invoice": "FA-1"}),
    ]
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO missions (id, workflow_id, client_org_id, title, business_function, stage, paused,"
                    " selected_expert_id, last_seq, created_at, updated_at, detail) VALUES (:id, :wf, :org, 'Budget',"
                    " 'finance', 'delivery', false, :winner, 9, :t0, :t0, :detail)"
                ).bindparams(sa.bindparam("detail", type_=sa.JSON), sa.bindparam("id", type_=sa.Uuid),
                             sa.bindparam("org", type_=sa.Uuid), sa.bindparam("winner", type_=sa.Uuid)),
                {"id": mission_id, "wf": wf, "org": uuid.uuid4(), "winner": winner, "t0": t0,
                 "detail": {"timeline": [], "milestones": [], "open_tasks": []}},
            )  # fmt: skip
            for seq, (workflow_id, kind, summary, details) in enumerate(events, start=1):
                conn.execute(
                    text(
                        "INSERT INTO timeline_events (id, workflow_id, seq, mission_id, at, kind, stage, summary,"
                        " details) VALUES (:id, :wf, :seq, :mission, :at, :kind, 'any', :summary, :details)"
                    ).bindparams(sa.bindparam("details", type_=sa.JSON), sa.bindparam("id", type_=sa.Uuid),
                                 sa.bindparam("mission", type_=sa.Uuid)),
                    {"id": uuid.uuid4(), "wf": workflow_id, "seq": seq, "mission": mission_id,
                     "at": t0 + timedelta(minutes=seq), "kind": kind, "summary": summary, "details": details},
                )  # fmt: skip
        upgrade(url)
        with engine.connect() as conn:
            named = conn.execute(
                text("SELECT kind, expert_id FROM timeline_events ORDER BY at").columns(
                    sa.column("kind", sa.String), sa.column("expert_id", sa.Uuid)
                )
            ).all()
            detail = conn.execute(text("SELECT detail FROM missions")).scalar()
    finally:
        engine.dispose()
    assert [tuple(row) for row in named] == [
        ("need_submitted", None),
        ("expert_invited", winner),
        ("expert_invited", loser),
        ("invitation_expired", None),
        ("stage:contract", winner),
        ("contract_ready", winner),
        ("milestone:awaiting_payment", winner),
    ]
    assert detail is None


def test_every_client_account_becomes_the_admin_of_its_organisation(database_url: str) -> None:
    """Before roles, every client account ran its organisation: each one is its admin after the migration; experts
    and ops get no organisation role."""
    url = _fresh_database(database_url, "mig_roles")
    upgrade(url, "f3688719ba06")
    org, t0 = uuid.uuid4(), datetime(2030, 1, 1, 9, tzinfo=UTC)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO organisations (id, legal_name, legal_form, country, address_line, postcode, city,"
                    " billing_email, created_at) VALUES (:id, 'Client SAS', 'SAS', 'FR', '1 rue',"
                    " '75001', 'Paris', 'b@client.test', :t0)"
                ).bindparams(sa.bindparam("id", type_=sa.Uuid)),
                {"id": org, "t0": t0},
            )
            for email, role, org_id in (("a@client.test", "client", org), ("b@client.test", "client", org),
                                        ("o@ops.test", "ops", None)):  # fmt: skip
                conn.execute(
                    text(
                        "INSERT INTO users (id, email, full_name, password_hash, role, language, organisation_id,"
                        " is_active, created_at) VALUES (:id, :email, 'N', 'x', :role, 'en', :org, true, :t0)"
                    ).bindparams(sa.bindparam("id", type_=sa.Uuid), sa.bindparam("org", type_=sa.Uuid)),
                    {"id": uuid.uuid4(), "email": email, "role": role, "org": org_id, "t0": t0},
                )
        upgrade(url)
        with engine.connect() as conn:
            roles = dict(conn.execute(text("SELECT email, org_role FROM users")).all())
    finally:
        engine.dispose()
    assert roles == {"a@client.test": "admin", "b@client.test": "admin", "o@ops.test": None}
