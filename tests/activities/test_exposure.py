"""Fair exposure while the platform runs: each shortlist shown counts its experts once (retries count nothing
more), the hourly schedule recounts the window, the transparency figures come from the recorded shortlists, and
over a simulated month the fair-exposure term spreads exposure more evenly than the same month without it."""

from __future__ import annotations

import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.matching import DirectoryCache, MatchingActivities
from bench.matching import random_need, simulate_month
from config.settings import Settings
from config.temporal import workflow_runner
from domain.shortlist import ExposureRecord
from store.matching import exposure_figures, gini
from store.models.community import Expert, Organisation
from store.models.matching import ShortlistExposure
from store.seed import seed_experts
from tests.workflows.conftest import eventually
from workflows.exposure import SCHEDULE_ID, ExposureWindowWorkflow, ensure_exposure_schedule

pytestmark = pytest.mark.db
REF = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def experts(session_factory: sessionmaker[Session]) -> list[uuid.UUID]:
    return seed_experts(session_factory, 1000, seed=1818, reference_date=REF)


@pytest.fixture
def clean(session_factory: sessionmaker[Session], experts: list[uuid.UUID]) -> list[uuid.UUID]:
    """No exposure recorded yet; the active experts."""
    with session_factory.begin() as s:
        s.execute(delete(ShortlistExposure))
        s.execute(update(Expert).values(recent_shortlists=0))
        active = set(s.scalars(select(Expert.id).where(Expert.membership_active.is_(True))))
    return [e for e in experts if e in active]


def acts_for(session_factory: sessionmaker[Session]) -> MatchingActivities:
    return MatchingActivities(session_factory, Settings(), cache=DirectoryCache(session_factory, 60.0))


def recent(session_factory: sessionmaker[Session], ids: list[uuid.UUID]) -> list[int]:
    with session_factory() as s:
        found = dict(s.execute(select(Expert.id, Expert.recent_shortlists).where(Expert.id.in_(ids))).tuples().all())
    return [found[i] for i in ids]


def test_gini_of_counts() -> None:
    assert gini([3, 3, 3, 3]) == 0.0
    assert gini([0, 0, 0, 8]) == pytest.approx(0.75)
    assert gini([]) == 0.0 and gini([0, 0]) == 0.0
    assert gini([8], zeros=3) == gini([0, 0, 0, 8]), "the zeros counted, not listed"
    assert gini([1, 2, 3], zeros=2) == pytest.approx(gini([0, 3, 1, 0, 2]))


async def test_a_shortlist_counts_each_expert_once_even_when_retried(
    session_factory: sessionmaker[Session], clean: list[uuid.UUID]
) -> None:
    acts, shown = acts_for(session_factory), clean[:5]
    record = ExposureRecord(mission_id=uuid.uuid4(), expert_ids=shown, at=NOW)
    assert await ActivityEnvironment().run(acts.record_shortlist_exposure, record) == 5
    assert await ActivityEnvironment().run(acts.record_shortlist_exposure, record) == 0  # a retry
    assert recent(session_factory, shown) == [1] * 5
    other = ExposureRecord(mission_id=uuid.uuid4(), expert_ids=shown[:2], at=NOW + timedelta(hours=1))
    assert await ActivityEnvironment().run(acts.record_shortlist_exposure, other) == 2
    assert recent(session_factory, shown) == [2, 2, 1, 1, 1]
    with session_factory() as s:
        f = exposure_figures(s, NOW + timedelta(days=1))
    assert (f.shortlists, f.exposures, f.experts_shown) == (2, 7, 5)
    assert f.share_shown == pytest.approx(5 / f.active_experts)
    assert 0.99 < f.gini < 1.0  # 5 of ~1000 experts took every exposure


async def test_the_cache_sees_new_exposure_at_once(
    session_factory: sessionmaker[Session], clean: list[uuid.UUID]
) -> None:
    acts = acts_for(session_factory)
    arrays = acts.cache.get()
    row = arrays.row_of[clean[0]]
    before = int(arrays.recent_shortlists[row])
    acts.record_exposure_sync(ExposureRecord(mission_id=uuid.uuid4(), expert_ids=[clean[0]], at=NOW))
    assert int(acts.cache.get().recent_shortlists[row]) == before + 1


@pytest.mark.devserver
async def test_the_schedule_recounts_the_window(
    dev_server_env: WorkflowEnvironment,
    session_factory: sessionmaker[Session],
    clean: list[uuid.UUID],
    task_queue: str,
) -> None:
    """Exposure older than the window stops counting once the schedule ran; recent exposure still counts."""
    acts, old, new = acts_for(session_factory), clean[0], clean[1]
    now = datetime.now(UTC)
    acts.record_exposure_sync(ExposureRecord(mission_id=uuid.uuid4(), expert_ids=[old], at=now - timedelta(days=200)))
    acts.record_exposure_sync(ExposureRecord(mission_id=uuid.uuid4(), expert_ids=[new], at=now - timedelta(days=2)))
    assert recent(session_factory, [old, new]) == [1, 1]
    client = dev_server_env.client
    try:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[ExposureWindowWorkflow],
            activities=[acts.refresh_exposure_window],
            activity_executor=ThreadPoolExecutor(2),
            workflow_runner=workflow_runner(),
        ):
            await ensure_exposure_schedule(client, task_queue)
            await ensure_exposure_schedule(client, task_queue)  # a second worker starting: nothing changes
            schedule = client.get_schedule_handle(SCHEDULE_ID)
            assert (await schedule.describe()).schedule.spec.intervals[0].every == timedelta(hours=1)
            await schedule.trigger()
            await eventually(lambda: recent(session_factory, [old, new]) == [0, 1] or None, within=20)
    finally:
        await client.get_schedule_handle(SCHEDULE_ID).delete()


def test_the_fair_term_lowers_the_gini_of_a_simulated_month(
    session_factory: sessionmaker[Session], clean: list[uuid.UUID]
) -> None:
    with session_factory.begin() as s:
        org = Organisation(legal_name="Sim SA", legal_form="SA", country="FR", address_line="1 rue A",
                           postcode="75001", city="Paris", billing_email="billing@sim.example")  # fmt: skip
        s.add(org)
        s.flush()
        org_id = org.id
    rng = random.Random(7)
    needs = [random_need(rng) for _ in range(120)]
    without = simulate_month(session_factory, needs, org_id, fair=False)
    with_term = simulate_month(session_factory, needs, org_id, fair=True)
    assert without.shortlists == with_term.shortlists == 120
    assert with_term.gini < without.gini
    assert with_term.experts_shown > without.experts_shown


async def test_the_cache_rereads_exposure_recorded_elsewhere(
    session_factory: sessionmaker[Session], clean: list[uuid.UUID]
) -> None:
    """Another worker's shortlists (or the window's recount) reach this worker's cache without a reload."""
    cache = DirectoryCache(session_factory, check_interval=0.0, exposure_interval=0.0)
    arrays = cache.get()
    row = arrays.row_of[clean[3]]
    other_worker = acts_for(session_factory)
    other_worker.record_exposure_sync(ExposureRecord(mission_id=uuid.uuid4(), expert_ids=[clean[3]], at=NOW))
    reloads = cache.reloads
    assert int(cache.get().recent_shortlists[row]) == 1
    assert cache.reloads == reloads, "one column re-read, not a reload"
