"""An API app on the test database, and helpers that register and log in accounts through the API itself."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from config.settings import Settings
from store import account_security, accounts
from store.db import transaction

if TYPE_CHECKING:
    from tests.api.live import LiveMission

PASSWORD = "Sturdy-Passw0rd!"


@pytest.fixture
def api_settings(var_dir: Any) -> Settings:
    # Port 1 refuses at once: these tests run without Temporal unless they ask for it.
    return Settings(environment="test", temporal_address="127.0.0.1:1", document_store=f"file://{var_dir}/docs")


@pytest.fixture
def app(api_settings: Settings, engine: Engine) -> FastAPI:
    application = create_app(api_settings, engine=engine)
    application.state.owns_engine = False
    return application


def client_address() -> tuple[str, int]:
    """An address of its own for each test's client: failed logins are counted per address, in the database the
    tests of a process share."""
    n = uuid.uuid4().int
    return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", 50000


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=client_address())
    async with httpx.AsyncClient(transport=transport, base_url="http://innot.test") as client:
        yield client


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def client_registration(email: str | None = None, **organisation: Any) -> dict[str, Any]:
    org = {
        "legal_name": "ACME Industrie SAS",
        "legal_form": "SAS",
        "siret": "73282932000074",
        "vat_number": "FR44732829320",
        "billing_email": "compta@acme.example",
        "address_line": "1 place de la Bourse",
        "postcode": "69002",
        "city": "Lyon",
        "country": "FR",
    } | organisation
    return {
        "account": {
            "email": email or unique_email("client"),
            "full_name": "Claire Martin",
            "password": PASSWORD,
        },
        "organisation": org,
    }


def expert_registration(email: str | None = None, **profile: Any) -> dict[str, Any]:
    data = {
        "display_name": "Jean Dupont",
        "legal_name": "Jean Dupont EI",
        "address_line": "5 rue des Lilas",
        "postcode": "33000",
        "city": "Bordeaux",
        "country": "FR",
        "business_functions": ["finance"],
        "skills": ["financial_modelling"],
        "languages": ["fr", "en"],
        "daily_rate": "850.00",
        "currency": "EUR",
        "available_from": "2026-12-01",
        "vat_regime": "franchise_en_base",
        "siret": "73282932000074",
        "iban": "FR1420041010050500013M02606",
        "billing_mandate_accepted": True,
    } | profile
    return {
        "account": {
            "email": email or unique_email("expert"),
            "full_name": "Jean Dupont",
            "password": PASSWORD,
        },
        "profile": data,
    }


async def login(api: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await api.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture(scope="session")
async def live_mission(
    dev_server_env: WorkflowEnvironment,
    engine: Engine,
    session_factory: sessionmaker[Session],
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[LiveMission]:
    """The shared live mission (tests/api/live.py), in delivery with its first invoice: built once per test process
    for every module that reads it (the authorization matrix, the privacy tests), which write nothing to it."""
    from tests.api.live import build_live_mission  # the stack is imported by the tests that use it only

    var = tmp_path_factory.mktemp("live")
    async with build_live_mission(dev_server_env, engine, session_factory, var, through_first_invoice=True) as live:
        yield live


async def with_second_factor(api: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, str]:
    """Enrol an authenticator app for this account (every ops route needs one); the same headers back."""
    setup = await api.post("/auth/totp/setup", headers=headers)
    assert setup.status_code == 200, setup.text
    code = pyotp.TOTP(setup.json()["secret"]).now()
    enabled = await api.post("/auth/totp/enable", json={"code": code}, headers=headers)
    assert enabled.status_code == 200, enabled.text
    return headers


def verified(session_factory: sessionmaker[Session], email: str) -> None:
    """Mark the address verified, for tests about something else than the verification e-mail (which has its own,
    tests/api/test_account_security.py)."""
    with transaction(session_factory) as session:
        user = accounts.user_by_email(session, email=email)
        assert user is not None
        account_security.mark_email_verified(session, user=user)
