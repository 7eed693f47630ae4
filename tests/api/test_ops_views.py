"""The ops overview and charts answer from the read model: counts per stage and per age, overdue deadlines, what
needs attention, fees not paid, missions entering each stage per week and the time spent in each stage; only for
ops. On a database of its own, so that every count is exact."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.deps import ACCESS_COOKIE
from api.security import hash_password
from config.settings import Settings
from store import accounts
from store.db import make_engine, make_session_factory, transaction
from store.migrate import upgrade
from store.models.community import Membership
from store.models.readmodel import MissionRecord, Task, TimelineEvent
from tests.api.conftest import PASSWORD, client_address, login, unique_email
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.db

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def own_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A fresh database for this module: the counts on the pages are those of the rows seeded here."""
    if not POSTGRES_URL:
        url = f"sqlite:///{tmp_path_factory.mktemp('opsviews') / 'innot.db'}"
        upgrade(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()
        return
    name = f"innot_ops_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        str(make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = str(make_url(POSTGRES_URL).set(database=name))
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def sessions(own_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(own_engine)


@pytest.fixture
async def portal(own_engine: Engine, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(environment="test", temporal_address="127.0.0.1:1", document_store=f"file://{tmp_path}")
    app: FastAPI = create_app(settings, engine=own_engine)
    app.state.owns_engine = False
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=client_address())
    async with httpx.AsyncClient(transport=transport, base_url="http://innot.test") as client:
        yield client


async def _logged_in(portal: httpx.AsyncClient, sessions: sessionmaker[Session], role: str) -> None:
    """An account of this role, its access token as the portal's cookie; ops with the second factor in force."""
    email = unique_email(role)
    with transaction(sessions) as session:
        accounts.create_user(
            session, email=email, full_name="Olga Ops", password_hash=await hash_password(PASSWORD), role=role
        )
    token = (await login(portal, email))["access_token"]
    with transaction(sessions) as session:
        user = accounts.user_by_email(session, email=email)
        assert user is not None
        user.totp_enabled_at = NOW  # the second factor itself is tested elsewhere (tests/api/test_account_security)
    portal.cookies.set(ACCESS_COOKIE, token)


def _mission(
    session: Session, stage: str, *, age_days: float, deadline_in_days: float | None = None, paused: bool = False
) -> uuid.UUID:
    mission_id = uuid.uuid4()
    session.add(
        MissionRecord(
            id=mission_id,
            workflow_id=f"mission:{mission_id}",
            client_org_id=uuid.uuid4(),
            title=f"Mission {stage} {mission_id.hex[:6]}",
            business_function="finance",
            stage=stage,
            paused=paused,
            next_deadline=None if deadline_in_days is None else NOW + timedelta(days=deadline_in_days),
            created_at=NOW - timedelta(days=age_days),
            updated_at=NOW,
        )
    )
    return mission_id


def _stages(session: Session, mission_id: uuid.UUID, *moves: tuple[str, datetime]) -> None:
    """The mission's stage events, as the projection writes them (plus one milestone event, which must not count)."""
    for seq, (kind, at) in enumerate(moves, start=1):
        stage = "need" if kind == "need_submitted" else kind.removeprefix("stage:")
        session.add(
            TimelineEvent(
                workflow_id=f"mission:{mission_id}", seq=seq, mission_id=mission_id, at=at, kind=kind, stage=stage
            )
        )
    session.add(
        TimelineEvent(
            workflow_id=f"mission:{mission_id}:milestone:1",
            seq=1,
            mission_id=mission_id,
            at=moves[-1][1] + timedelta(hours=1),
            kind="stage:delivery",
            stage="delivery",
        )
    )


def _cells(html: str, attribute: str) -> dict[str, str]:
    return dict(re.findall(rf'data-{attribute}="([^"]+)">([^<]*)<', html))


@pytest.fixture(scope="module")
def seeded(sessions: sessionmaker[Session]) -> dict[str, uuid.UUID]:
    with transaction(sessions) as session:
        late = _mission(session, "proposals", age_days=3, deadline_in_days=-2)
        _mission(session, "proposals", age_days=20, deadline_in_days=5)
        _mission(session, "delivery", age_days=45, deadline_in_days=-1, paused=True)
        stuck = _mission(session, "needs_attention", age_days=200)
        _mission(session, "closed", age_days=300, deadline_in_days=-100)  # closed: neither open nor late
        start = NOW - timedelta(days=2)
        _stages(
            session,
            late,
            ("need_submitted", start),
            ("stage:qualification", start + timedelta(hours=2)),
            ("stage:shortlist", start + timedelta(hours=6)),
            ("stage:invitations", start + timedelta(hours=7)),
            ("stage:proposals", start + timedelta(hours=8)),
        )
        old = NOW - timedelta(days=30)  # in the fourth of the eight weeks shown (index 3)
        _stages(session, stuck, ("need_submitted", old), ("stage:qualification", old + timedelta(hours=4)))
        session.add(
            Task(
                workflow_id=f"mission:{stuck}",
                key="decide",
                mission_id=stuck,
                role="ops",
                party_id=None,
                action="resume",
                title="Decide",
                due_at=NOW - timedelta(hours=1),
                opened_at=NOW - timedelta(days=1),
            )
        )
        for community, amount, status in (
            ("client_organisation", "1200.00", "pending"),
            ("client_organisation", "800.00", "pending"),
            ("expert", "150.00", "pending"),
            ("expert", "150.00", "active"),
        ):
            session.add(
                Membership(
                    community=community,
                    member_id=uuid.uuid4(),
                    status=status,
                    fee_schedule_version="2026",
                    fee_amount=Decimal(amount),
                    currency="EUR",
                )
            )
    return {"late": late, "stuck": stuck}


async def test_the_overview_counts_what_the_read_model_holds(
    portal: httpx.AsyncClient, sessions: sessionmaker[Session], seeded: dict[str, uuid.UUID]
) -> None:
    await _logged_in(portal, sessions, "ops")
    page = await portal.get("/portal/ops/overview")
    assert page.status_code == 200, page.text
    html = page.text
    by_stage = _cells(html, "stage")
    assert by_stage["proposals"] == "2" and by_stage["delivery"] == "1" and by_stage["closed"] == "1"
    assert by_stage["needs_attention"] == "1" and by_stage["shortlist"] == "0"
    assert _cells(html, "age") == {"week": "1", "month": "1", "quarter": "1", "older": "1"}
    tiles = _cells(html, "count")
    assert tiles == {"overdue": "2", "stuck": "1", "disputed": "0", "ops-tasks": "1", "fees": "3"}
    assert "(1 late)" in html
    assert html.count("data-late=") == 2 and f'data-late="{seeded["late"]}"' in html
    assert _cells(html, "fees") == {"client_organisation-EUR": "2", "expert-EUR": "1"}
    assert "€2,000.00" in html and "€150.00" in html
    weekly = _cells(html, "week")
    # the last week (index 7) saw the late mission enter five stages; the stuck one entered two in week 3
    assert [weekly[f"{s}-7"] for s in ("need", "qualification", "shortlist", "invitations", "proposals")] == ["1"] * 5
    assert weekly["need-3"] == "1" and weekly["qualification-3"] == "1"
    assert "delivery-7" not in weekly, "a milestone's stages are not the mission's"
    assert html.count('<svg class="chart strip"') == 1 and 'aria-label="Missions entering each stage, per week"' in html

    portal.cookies.set("innot_lang", "fr")
    french = (await portal.get("/portal/ops/overview")).text
    assert "Vue d’ensemble" in french and re.search(r"2\s?000,00\s?€", french)


async def test_the_charts_measure_the_time_spent_in_each_stage(
    portal: httpx.AsyncClient, sessions: sessionmaker[Session], seeded: dict[str, uuid.UUID]
) -> None:
    await _logged_in(portal, sessions, "ops")
    html = (await portal.get("/portal/ops/charts")).text
    hours = _cells(html, "hours")
    # need: 2 h and 4 h (average 3); qualification: 4 h (the stuck mission never left it); then 1 h each
    assert hours == {"need": "3.00", "qualification": "4.00", "shortlist": "1.00", "invitations": "1.00"}
    assert html.count('<svg class="chart"') == 2


async def test_only_ops_see_the_overview(portal: httpx.AsyncClient, sessions: sessionmaker[Session]) -> None:
    anonymous = await portal.get("/portal/ops/overview")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/portal/login")
    await _logged_in(portal, sessions, "expert")
    answer = await portal.get("/portal/ops/overview")
    assert answer.status_code == 303 and answer.headers["location"] == "/portal/inbox"
