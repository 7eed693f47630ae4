"""The expert directory over the API: an expert fills in the profile and chooses what clients see; a client
searches (filters and words) and reads the profile and CV as the expert made them public; experts cannot browse."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

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
