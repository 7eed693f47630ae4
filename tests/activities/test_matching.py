"""The matching activity end to end on a seeded database."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.matching import DirectoryCache, MatchingActivities
from config.settings import Settings
from domain.fx import DEFAULT_RATES
from domain.matching import compile_query
from domain.need import Need
from domain.shortlist import ShortlistRequest
from domain.taxonomy import normalise_need
from store.matching import load_active_profiles
from store.models.community import Expert, Organisation, User
from store.seed import expert_row, seed_experts
from tests.domain import reference_matching as reference

pytestmark = pytest.mark.db
REF = date(2026, 3, 2)


@pytest.fixture(scope="module")
def seeded(session_factory: sessionmaker[Session]) -> list[uuid.UUID]:
    return seed_experts(session_factory, 3000, seed=4242, reference_date=REF)


@pytest.fixture
def client_org(session_factory: sessionmaker[Session]) -> uuid.UUID:
    org = Organisation(legal_name="Acme SA", legal_form="SA", country="FR", address_line="1 rue A",
                       postcode="75001", city="Paris", billing_email="billing@acme.example")  # fmt: skip
    with session_factory() as session, session.begin():
        session.add(org)
    return org.id


def need(**overrides: object) -> Need:
    fields: dict[str, object] = {
        "title": "Finance transformation", "description": "Rebuild the monthly close and the group reporting.",
        "business_function": "finance", "skills": ["Contrôle de gestion", "consolidation", "ifrs_reporting"],
        "languages": ["fr"], "countries": ["FR"], "budget_min": Decimal(500), "budget_max": Decimal(950),
        "currency": "EUR", "start_date": date(2026, 3, 16), "duration_days": 90,
    }  # fmt: skip
    fields.update(overrides)
    return Need.model_validate(fields)


def make_activities(session_factory: sessionmaker[Session], check_interval: float = 60.0) -> MatchingActivities:
    return MatchingActivities(session_factory, Settings(), cache=DirectoryCache(session_factory, check_interval))


async def test_shortlist_end_to_end(
    session_factory: sessionmaker[Session], seeded: list[uuid.UUID], client_org: uuid.UUID
) -> None:
    acts = make_activities(session_factory)
    declined = seeded[:50]
    req = ShortlistRequest(mission_id=uuid.uuid4(), client_org_id=client_org, need=need(), exclude_expert_ids=declined)
    shortlist = await ActivityEnvironment().run(acts.shortlist_experts, req)

    assert len(shortlist.candidates) == 5 and len(shortlist.reserve) == 15
    everyone = [*shortlist.candidates, *shortlist.reserve]
    assert len({c.expert_id for c in everyone}) == 20
    scores = [c.score for c in everyone]
    assert scores == sorted(scores, reverse=True), "reserve continues the shortlist order"
    # the same ranking as the plain reference over the whole active directory read from SQL
    with session_factory() as session:
        profiles = load_active_profiles(session)
    query = compile_query(normalise_need(req.need), excluded=declined, reference_offset_minutes=60)
    expected = reference.rank(query, profiles, DEFAULT_RATES, 20)
    assert [c.expert_id for c in everyone] == [s.expert_id for s in expected]
    by_id = {p.id: p for p in profiles}
    for c in everyone:
        assert c.expert_id not in declined and "fr" in by_id[c.expert_id].languages
    for c in shortlist.candidates:  # what the client reviews is explained: contributions, in both languages
        assert sum(c.contributions.values()) == pytest.approx(c.score, abs=1e-9)
        assert c.explanation_en.startswith(("Strong fit", "Partial fit")) and f"{c.score:.2f}" in c.explanation_en
        assert c.explanation_fr.startswith("Adéquation") and f"{c.score:.2f}" in c.explanation_fr
    assert all(not (c.contributions or c.explanation_en or c.explanation_fr) for c in shortlist.reserve), (
        "the reserve is ranked and scored, not explained"
    )

    again = await ActivityEnvironment().run(acts.shortlist_experts, req)
    assert again == shortlist, "same input, same output"


async def test_members_of_client_org_and_lapsed_experts_are_never_shortlisted(
    session_factory: sessionmaker[Session], seeded: list[uuid.UUID], client_org: uuid.UUID
) -> None:
    acts = make_activities(session_factory)  # long check interval: the cache will not reload
    req = ShortlistRequest(mission_id=uuid.uuid4(), client_org_id=client_org, need=need())
    first = acts.shortlist_sync(req)
    insider, lapsing = first.candidates[0].expert_id, first.candidates[1].expert_id
    with session_factory() as session, session.begin():
        session.add(User(email=f"{uuid.uuid4().hex}@acme.example", full_name="Insider", password_hash="x",
                         role="expert", organisation_id=client_org, expert_id=insider))  # fmt: skip
        session.execute(update(Expert).where(Expert.id == lapsing).values(membership_active=False))
    second = acts.shortlist_sync(req)
    ids = [c.expert_id for c in [*second.candidates, *second.reserve]]
    assert insider not in ids and lapsing not in ids
    assert ids[:3] == [c.expert_id for c in first.candidates[2:5]]
    with session_factory() as session, session.begin():
        session.execute(update(Expert).where(Expert.id == lapsing).values(membership_active=True))


async def test_new_expert_is_picked_up_when_the_directory_changes(
    session_factory: sessionmaker[Session], seeded: list[uuid.UUID], client_org: uuid.UUID
) -> None:
    import random

    acts = make_activities(session_factory, check_interval=0.0)
    req = ShortlistRequest(mission_id=uuid.uuid4(), client_org_id=client_org, need=need(), size=3, reserve_size=2)
    acts.shortlist_sync(req)
    star = expert_row(random.Random(1), REF) | {
        "business_functions": ["finance"], "skills": ["management_control", "consolidation", "ifrs_reporting"],
        "languages": ["fr", "en"], "country": "FR", "utc_offset_minutes": 60, "remote": True,
        "daily_rate": Decimal("700.00"), "currency": "EUR", "available_from": REF, "available_days_per_week": 5,
        "rating": Decimal("5.00"), "ratings_count": 40, "completed_missions": 45, "recent_shortlists": 0,
        "membership_active": True,
    }  # fmt: skip
    with session_factory() as session, session.begin():
        session.add(Expert(**star))
    reloads = acts.cache.reloads
    shortlist = acts.shortlist_sync(req)
    assert acts.cache.reloads == reloads + 1
    assert shortlist.candidates[0].expert_id == star["id"]


async def test_unknown_skill_is_a_non_retryable_error(
    session_factory: sessionmaker[Session], client_org: uuid.UUID
) -> None:
    acts = make_activities(session_factory)
    req = ShortlistRequest(mission_id=uuid.uuid4(), client_org_id=client_org, need=need(skills=["juggling"]))
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(acts.shortlist_experts, req)
    assert caught.value.non_retryable and "juggling" in str(caught.value)


def test_exposure_is_counted_once_per_mission_and_decays_with_the_window(
    session_factory: sessionmaker[Session], seeded: list[uuid.UUID]
) -> None:
    from datetime import UTC, datetime, timedelta

    from store.matching import record_exposure, refresh_recent_shortlists

    def expose(mission_id: uuid.UUID, expert_ids: list[uuid.UUID], at: datetime) -> int:
        with session_factory() as session, session.begin():
            return record_exposure(session, mission_id, expert_ids, at)

    experts = seeded[100:103]
    with session_factory() as session:
        before = {e: session.get_one(Expert, e).recent_shortlists for e in experts}
    long_ago = datetime(2025, 1, 6, tzinfo=UTC)
    mission = uuid.uuid4()
    assert (expose(mission, experts, long_ago), expose(mission, experts, long_ago)) == (3, 0)
    with session_factory() as session:
        assert {e: session.get_one(Expert, e).recent_shortlists for e in experts} == {
            e: n + 1 for e, n in before.items()
        }
    expose(uuid.uuid4(), experts[:1], long_ago + timedelta(days=80))
    with session_factory() as session, session.begin():
        refresh_recent_shortlists(session, now=long_ago + timedelta(days=100), window_days=90)
    with session_factory() as session:
        assert [session.get_one(Expert, e).recent_shortlists for e in experts] == [1, 0, 0]


def _star(**changes: object) -> dict[str, object]:
    """A new expert every `need()` ranks near the top."""
    import random

    best = {"business_functions": ["finance"], "skills": ["management_control", "consolidation", "ifrs_reporting"],
            "languages": ["fr", "en"], "country": "FR", "utc_offset_minutes": 60, "remote": True,
            "daily_rate": Decimal("700.00"), "currency": "EUR", "available_from": REF, "available_days_per_week": 5,
            "rating": Decimal("5.00"), "ratings_count": 40, "completed_missions": 45, "recent_shortlists": 0,
            "membership_active": True, "id": uuid.uuid4()}  # fmt: skip
    return expert_row(random.Random(7), REF) | best | changes


def _candidates(acts: MatchingActivities, client_org: uuid.UUID) -> list[uuid.UUID]:
    req = ShortlistRequest(mission_id=uuid.uuid4(), client_org_id=client_org, need=need(), size=3, reserve_size=2)
    shortlist = acts.shortlist_sync(req)
    return [c.expert_id for c in [*shortlist.candidates, *shortlist.reserve]]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"membership_active": False}, {"membership_active": True}),  # registered, then the fee is paid
        ({"languages": ["de"]}, {"languages": ["fr", "en"]}),  # the expert adds the need's language to the profile
    ],
    ids=["activated", "profile-edited"],
)
async def test_an_expert_changed_a_moment_ago_is_matched_at_once(
    session_factory: sessionmaker[Session],
    seeded: list[uuid.UUID],
    client_org: uuid.UUID,
    before: dict[str, object],
    after: dict[str, object],
) -> None:
    acts = MatchingActivities(session_factory, Settings())  # the worker's own cache, as it is built there
    star = _star(**before)
    with session_factory() as session, session.begin():
        session.add(Expert(**star))
    try:
        assert star["id"] not in _candidates(acts, client_org)
        with session_factory() as session, session.begin():  # as the membership projection or the profile route do
            expert = session.get_one(Expert, star["id"])
            for name, value in after.items():
                setattr(expert, name, value)
        assert star["id"] in _candidates(acts, client_org), "the expert is matched by the very next need"
    finally:
        with session_factory() as session, session.begin():  # out of the other tests' way
            session.execute(update(Expert).where(Expert.id == star["id"]).values(membership_active=False))
