"""The expert directory over the API: an expert fills in the profile and chooses what clients see; a client
searches (filters and words) and reads the profile and CV as the expert made them public; experts cannot browse."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from api.deps import ACCESS_COOKIE
from api.web.core import CSRF_COOKIE, CSRF_FIELD
from store.db import transaction
from store.models.community import Expert
from tests.api.conftest import bearer, client_registration, expert_registration, login, unique_email

pytestmark = pytest.mark.db
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


async def _expert(
    api: httpx.AsyncClient, sessions: sessionmaker[Session], **profile: Any
) -> tuple[str, dict[str, str]]:
    email = unique_email("expert")
    reg = await api.post("/auth/register/expert", json=expert_registration(email, **profile))
    assert reg.status_code == 201, reg.text
    headers = bearer(await login(api, email))
    me = (await api.get("/experts/profile", headers=headers)).json()
    with transaction(sessions) as s:  # the fee paid (the membership workflow's projection, tested on its own)
        s.execute(update(Expert).where(Expert.id == uuid.UUID(me["id"])).values(membership_active=True))
    return me["id"], headers


async def _client(api: httpx.AsyncClient) -> dict[str, str]:
    email = unique_email("client")
    assert (await api.post("/auth/register/client", json=client_registration(email))).status_code == 201
    return bearer(await login(api, email))


async def test_a_client_finds_the_expert_as_they_made_themselves_public(
    api: httpx.AsyncClient, session_factory: sessionmaker[Session]
) -> None:
    word = "zd" + uuid.uuid4().hex[:8]
    expert_id, expert = await _expert(api, session_factory, skills=["financial_modelling", "valuation"])
    profile = {
        "headline": "Interim CFO for industrial groups",
        "skill_levels": {"financial_modelling": "expert", "valuation": "advanced"},
        "portfolio": [{"title": "Carve-out", "description": f"Carve-out of a {word} plant", "year": 2024}],
        "public_fields": ["headline", "skills", "languages", "portfolio", "cv"],
    }
    updated = await api.patch("/experts/profile", json=profile, headers=expert)
    assert updated.status_code == 200, updated.text
    assert updated.json()["portfolio"][0]["title"] == "Carve-out"
    stray = await api.patch("/experts/profile", json={"skill_levels": {"payroll": "expert"}}, headers=expert)
    assert stray.status_code == 422 and "skill_levels" in stray.text
    not_pdf = await api.post("/experts/profile/cv", files={"file": ("cv.txt", b"my cv", "text/plain")}, headers=expert)
    assert not_pdf.status_code == 415 and "PDF" in not_pdf.text
    cv = await api.post("/experts/profile/cv", files={"file": ("cv.pdf", PDF, "application/pdf")}, headers=expert)
    assert cv.status_code == 200 and cv.json()["cv_document_id"]

    client = await _client(api)
    page = (await api.get("/directory/experts", params={"q": word, "skill": "valuation"}, headers=client)).json()
    assert [c["id"] for c in page["items"]] == [expert_id] and page["total"] == 1
    card = page["items"][0]
    assert card["skills"] == [
        {"skill": "financial_modelling", "level": "expert"},
        {"skill": "valuation", "level": "advanced"},
    ]
    assert card["daily_rate"] is None and card["available_from"] is None, "rate and availability kept private"
    assert card["portfolio"] is None, "the portfolio is in the profile, not the list"
    assert (await api.get("/directory/experts", params={"q": word, "max_rate": "5000"}, headers=client)).json()[
        "total"
    ] == 0
    level = {"q": word, "skill": "valuation", "min_level": "expert"}
    assert (await api.get("/directory/experts", params=level, headers=client)).json()["total"] == 0

    full = (await api.get(f"/directory/experts/{expert_id}", headers=client)).json()
    assert full["portfolio"][0]["description"] == f"Carve-out of a {word} plant"
    assert full["reputation"] == {"rating": "0.00", "ratings_count": 0, "completed_missions": 0}
    download = await api.get(f"/directory/experts/{expert_id}/cv", headers=client)
    assert download.status_code == 200 and download.content == PDF
    assert (
        download.headers["content-type"] == "application/pdf"
        and "attachment" in download.headers["content-disposition"]
    )

    await api.patch("/experts/profile", json={"public_fields": ["headline"]}, headers=expert)
    assert (await api.get(f"/directory/experts/{expert_id}/cv", headers=client)).status_code == 404
    assert (await api.get("/directory/experts", params={"q": word}, headers=client)).json()["total"] == 0, (
        "the portfolio made private leaves the index"
    )


async def test_the_directory_is_for_clients(api: httpx.AsyncClient, session_factory: sessionmaker[Session]) -> None:
    _, expert = await _expert(api, session_factory)
    assert (await api.get("/directory/experts", headers=expert)).status_code == 403
    assert (await api.get("/directory/experts")).status_code == 401
    client = await _client(api)
    unknown = await api.get("/directory/experts", params={"skill": "juggling"}, headers=client)
    assert unknown.status_code == 422 and "skill" in unknown.text
    assert (await api.get(f"/directory/experts/{uuid.uuid4()}", headers=client)).status_code == 404
    lapsed_id, _ = await _expert(api, session_factory)
    with transaction(session_factory) as s:
        s.execute(update(Expert).where(Expert.id == uuid.UUID(lapsed_id)).values(membership_active=False))
    assert (await api.get(f"/directory/experts/{lapsed_id}", headers=client)).status_code == 404


async def test_the_portal_profile_sets_levels_portfolio_public_parts_and_cv(
    api: httpx.AsyncClient, session_factory: sessionmaker[Session]
) -> None:
    _, headers = await _expert(api, session_factory, skills=["financial_modelling", "valuation"])
    csrf = (await api.get("/portal/login")).cookies.get(CSRF_COOKIE)
    token = headers["Authorization"].removeprefix("Bearer ")
    cookie = {"Cookie": f"{CSRF_COOKIE}={csrf}; {ACCESS_COOKIE}={token}"}
    api.cookies.clear()
    page = await api.get("/portal/profile", headers=cookie)
    assert 'name="level:valuation"' in page.text and 'name="public_fields"' in page.text
    form = {
        CSRF_FIELD: csrf, "headline": "Valuation for family businesses", "skills": "financial_modelling, valuation",
        "languages": "fr, en", "countries": "", "remote": "on", "daily_rate": "850.00", "currency": "EUR",
        "available_from": "2026-12-01", "available_days_per_week": "4",
        "skill_levels_shown": "1", "level:valuation": "expert", "level:financial_modelling": "",
        "portfolio_shown": "1", "portfolio_title": ["Family office valuation", ""],
        "portfolio_description": ["Valued a 40-company group", ""], "portfolio_year": ["2023", ""],
        "public_fields_shown": "1", "public_fields": ["headline", "portfolio", "cv"],
    }  # fmt: skip
    saved = await api.post("/portal/profile", data=form, headers=cookie)
    assert saved.status_code == 303
    profile = (await api.get("/experts/profile", headers=headers)).json()
    assert profile["skill_levels"] == {"valuation": "expert"}
    assert [(p["title"], p["year"]) for p in profile["portfolio"]] == [("Family office valuation", 2023)]
    assert profile["public_fields"] == ["headline", "portfolio", "cv"]
    files = {"file": ("cv.pdf", PDF, "application/pdf")}
    uploaded = await api.post("/portal/profile/cv", data={CSRF_FIELD: csrf}, files=files, headers=cookie)
    assert uploaded.status_code == 303
    assert (await api.get("/experts/profile", headers=headers)).json()["cv_document_id"]
