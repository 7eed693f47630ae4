"""Nonsense gets a 422 naming the field, at the door, never a 201: a need's blank texts, codes that are no ISO
language or country, start dates outside [today, today + 2 years], skills and business functions outside the
taxonomy (for needs and expert profiles alike, with the close matches); and a 422 never echoes a huge input."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from api import errors
from api.schemas import missions as mission_schemas
from domain.actors import Actor, Role
from domain.mission import ReviseNeed
from domain.need import Need
from tests.api.conftest import bearer, client_registration, expert_registration, login, verified

pytestmark = pytest.mark.db

TODAY = date(2026, 3, 2)
MEGABYTE = "x" * 1_000_000


def need(**overrides: Any) -> dict[str, Any]:
    return {
        "title": "Finance transformation",
        "description": "Redesign the monthly close of a mid-size industrial group.",
        "business_function": "finance",
        "skills": ["budgeting_forecasting", "consolidation"],
        "languages": ["en", "fr"],
        "countries": ["FR"],
        "budget_min": "600",
        "budget_max": "1200",
        "currency": "EUR",
        "start_date": (TODAY + timedelta(days=14)).isoformat(),
        "duration_days": 30,
    } | overrides


@pytest.fixture(autouse=True)
def today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mission_schemas, "today", lambda: TODAY)


@pytest.fixture
async def client_headers(
    app: FastAPI, api: httpx.AsyncClient, session_factory: sessionmaker[Session]
) -> dict[str, str]:
    """A registered client (its fee unpaid), and a Temporal client that is never reached: every check here happens
    before the workflow starts (a need that passes them all stops at the membership check, 409)."""
    body = client_registration()
    assert (await api.post("/auth/register/client", json=body)).status_code == 201
    verified(session_factory, body["account"]["email"])
    app.state.temporal = cast(Client, object())
    return bearer(await login(api, body["account"]["email"]))


def fields(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()["errors"]}


async def test_a_sensible_need_passes_every_check(api: httpx.AsyncClient, client_headers: dict[str, str]) -> None:
    for start in (TODAY - timedelta(days=1), TODAY, TODAY + timedelta(days=730)):  # a client west of UTC, the horizon
        answer = await api.post("/missions", json=need(start_date=start.isoformat()), headers=client_headers)
        assert answer.status_code == 409 and "membership is not active" in answer.json()["detail"], answer.text


@pytest.mark.parametrize(
    ("override", "field", "says"),
    [
        ({"title": "          "}, "title", "at least 5 characters"),
        ({"description": " " * 40}, "description", "at least 20 characters"),
        ({"start_date": "2001-01-01"}, "start_date", "in the past"),
        ({"start_date": (TODAY - timedelta(days=2)).isoformat()}, "start_date", "in the past"),
        ({"start_date": "9999-12-31"}, "start_date", "too far ahead"),
        ({"start_date": (TODAY + timedelta(days=731)).isoformat()}, "start_date", "2028-03-01 at the latest"),
        ({"languages": ["zz"]}, "languages.0", "not an ISO 639-1 language code"),
        ({"languages": ["fr", "tlh", "klingon"]}, "languages.1", "'tlh' is not an ISO 639-1"),
        ({"countries": ["XX"]}, "countries.0", "not an ISO 3166-1"),
        ({"countries": ["<script>"]}, "countries.0", "not an ISO 3166-1"),
        ({"countries": ["ZZ"]}, "countries.0", "not an ISO 3166-1"),  # CLDR's "unknown region"
        ({"skills": ["budgeting_forecasting", "  "]}, "skills.1", "at least 2 characters"),
        ({"skills": ["mergers"]}, "skills.0", "close matches: mergers_acquisitions"),
        ({"business_function": "finanse"}, "business_function", "close matches: finance (Finance)"),
    ],
)
async def test_nonsense_in_a_need_is_refused_naming_the_field(
    api: httpx.AsyncClient, client_headers: dict[str, str], override: dict[str, Any], field: str, says: str
) -> None:
    refused = fields(await api.post("/missions", json=need(**override), headers=client_headers))
    assert field in refused and says in refused[field], refused


def test_a_revised_need_passes_the_same_door() -> None:
    revise = mission_schemas.body_of(ReviseNeed)  # POST /missions/{id}/need and the portal's form
    with pytest.raises(ValidationError) as refused:
        revise.model_validate({"need": need(start_date="2001-01-01", skills=["astrology"])})
    assert {".".join(map(str, e["loc"])) for e in refused.value.errors()} == {"need.start_date", "need.skills.0"}
    revised = revise.model_validate({"need": need(skills=["IFRS"])})
    command = mission_schemas.to_command(ReviseNeed, revised, Actor(user_id=uuid.uuid4(), role=Role.CLIENT))
    assert isinstance(command, ReviseNeed) and command.need.skills == ["ifrs_reporting"]


async def test_an_expert_names_skills_and_functions_of_the_taxonomy(api: httpx.AsyncClient) -> None:
    unknown = expert_registration(business_functions=["finanse"], skills=["financial modeling", "astrology"])
    refused = fields(await api.post("/auth/register/expert", json=unknown))
    assert "close matches: finance (Finance)" in refused["profile.business_functions.0"]
    assert "close matches: financial_modelling" in refused["profile.skills.0"]
    assert "no close match" in refused["profile.skills.1"]

    # labels and synonyms are welcome: the profile keeps the keys matching ranks on, once each
    synonyms = expert_registration(business_functions=["Finance"], skills=["M&A", "mergers_acquisitions", "IFRS"])
    registered = await api.post("/auth/register/expert", json=synonyms)
    assert registered.status_code == 201, registered.text
    expert = bearer(await login(api, synonyms["account"]["email"]))
    profile = (await api.get("/experts/profile", headers=expert)).json()
    assert profile["business_functions"] == ["finance"]
    assert profile["skills"] == ["mergers_acquisitions", "ifrs_reporting"]

    refused = fields(await api.patch("/experts/profile", json={"skills": ["fpa&a"]}, headers=expert))
    assert "unknown skill 'fpa&a'" in refused["skills.0"]
    assert (await api.get("/experts/profile", headers=expert)).json()["skills"] == profile["skills"]
    updated = await api.patch("/experts/profile", json={"skills": ["DCF"]}, headers=expert)
    assert updated.status_code == 200 and updated.json()["skills"] == ["valuation"]


async def test_a_refusal_never_echoes_a_huge_input(api: httpx.AsyncClient, client_headers: dict[str, str]) -> None:
    for path, body, field in (
        ("/auth/register/expert", expert_registration(languages=[MEGABYTE]), "profile.languages.0"),
        ("/auth/register/expert", expert_registration(skills=[MEGABYTE]), "profile.skills.0"),
        ("/missions", need(countries=[MEGABYTE]), "countries.0"),
        ("/missions", need(skills=[MEGABYTE]), "skills.0"),
    ):
        answer = await api.post(path, json=body, headers=client_headers if path == "/missions" else {})
        assert answer.status_code == 422
        assert len(answer.content) < 2_000, f"{path} {field}: {len(answer.content)} bytes back"
        assert field in fields(answer)


class _Echoing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str

    @field_validator("code")
    @classmethod
    def _quote(cls, value: str) -> str:
        raise ValueError(f"{value!r} is not a code")  # as a careless validator would


async def test_the_422_handler_cuts_whatever_a_validator_quotes() -> None:
    app = FastAPI()
    errors.install(app)

    @app.post("/echo")
    def echo(body: _Echoing) -> None: ...

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://innot.test") as client:
        answer = await client.post("/echo", json={"code": MEGABYTE, MEGABYTE: 1})
    assert answer.status_code == 422
    assert len(answer.content) < 2_000
    refused = fields(answer)
    assert refused["code"].startswith("'xxxx") and refused["code"].endswith("…")
    assert any(f.startswith("xxxx") and f.endswith("…") for f in refused), "an unknown field's name is cut too"


def test_a_running_missions_need_stays_valid_when_its_day_passes() -> None:
    """The workflow reads its need again on every replay: the date rule belongs to the door, not to the need."""
    started = need(start_date="2001-01-01", skills=["a skill the taxonomy has dropped since"])
    assert Need.model_validate(started).start_date == date(2001, 1, 1)
    with pytest.raises(ValidationError):
        mission_schemas.NeedSubmission.model_validate(started)
