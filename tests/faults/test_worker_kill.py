"""The worker process killed with SIGKILL at random (seeded) moments while 20 missions run through the API:
every mission closes, and the database holds each document, invoice, timeline event and task exactly once,
with gapless invoice numbers per seller."""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path

import pytest

from config.temporal import connect
from store.migrate import upgrade
from tests.faults.scenario import audit, members, platform, run_missions
from tests.faults.stack import Child, TemporalServer, settings_for, worker_process

pytestmark = pytest.mark.faults

SEED = 20260501
MISSIONS = 20
MAX_KILLS = 6


async def kill_repeatedly(worker: Child, rng: random.Random, stop: asyncio.Event, kills: list[float]) -> None:
    """SIGKILL the worker every few seconds (seeded), restart it shortly after, until told to stop."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not stop.is_set() and len(kills) < MAX_KILLS:
        try:
            await asyncio.wait_for(stop.wait(), timeout=rng.uniform(3, 10))
            return
        except TimeoutError:
            pass
        worker.stop(signal.SIGKILL)
        kills.append(round(loop.time() - started, 1))
        await asyncio.sleep(rng.uniform(0.2, 3))
        worker.start()


async def test_missions_survive_worker_sigkill(tmp_path: Path) -> None:
    server = TemporalServer(tmp_path)
    server.start()
    database_url = f"sqlite:///{tmp_path / 'innot.db'}"
    upgrade(database_url)
    settings = settings_for(tmp_path, database_url, server.address)
    worker = worker_process(settings, tmp_path)
    worker.start()
    stop, kills = asyncio.Event(), list[float]()
    try:
        temporal = await connect(settings)
        async with platform(settings, temporal) as p:
            chaos = asyncio.create_task(kill_repeatedly(worker, random.Random(SEED), stop, kills))
            try:
                client, experts = await members(p)
                runs = await run_missions(p, MISSIONS, client, experts, within=240)
            finally:
                stop.set()
                await chaos
            assert len(kills) >= 3, f"the worker was killed only {len(kills)} times: {kills}"
            report = audit(p.sessions, [r.mission_id for r in runs])
            assert report["missions"] == MISSIONS
            assert p.calls.statuses[500] == 0
            print(f"\nworker killed at {kills} s; {report}; API answers {dict(p.calls.statuses)}")
    finally:
        worker.stop()
        server.stop()
