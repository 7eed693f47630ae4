"""The fair-exposure figures on the transparency page and in the public API, from the shortlists recorded."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from store.matching import record_exposure
from store.models.community import Expert
from store.models.matching import ShortlistExposure
from tests.workflows.test_membership import new_expert

pytestmark = pytest.mark.db


async def test_the_exposure_of_the_last_30_days_is_public(
    api: httpx.AsyncClient, session_factory: sessionmaker[Session]
) -> None:
    experts = [new_expert(session_factory) for _ in range(3)]
    now = datetime.now(UTC)
    with session_factory.begin() as s:
        s.execute(delete(ShortlistExposure))
        s.execute(update(Expert).where(Expert.id.in_(experts)).values(membership_active=True))
        record_exposure(s, uuid.uuid4(), experts[:2], now - timedelta(days=3))
        record_exposure(s, uuid.uuid4(), experts[:1], now - timedelta(days=1))
        record_exposure(s, uuid.uuid4(), experts, now - timedelta(days=45))  # outside the 30 days
    figures = (await api.get("/public/exposure")).json()
    assert (figures["days"], figures["shortlists"], figures["exposures"]) == (30, 2, 3)
    assert figures["experts_shown"] == 2
    assert figures["share_shown"] == round(2 / figures["active_experts"], 4)
    assert 0 < figures["gini"] < 1
    assert (await api.get("/public/exposure", params={"days": 60})).json()["shortlists"] == 3
    assert (await api.get("/public/exposure", params={"days": 0})).status_code == 422
    assert (await api.get("/public/ledger")).json()["exposure"] == figures
    page = (await api.get("/transparency")).text
    assert "data-gini>" + f"{figures['gini']:.3f}" in page
    assert f"{figures['experts_shown']} / {figures['active_experts']}" in page
