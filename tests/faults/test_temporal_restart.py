"""The Temporal dev server stopped in the middle of a run (SIGTERM, later SIGKILL) and restarted on the same
SQLite file: the worker and the API reconnect by themselves, and every mission continues and closes."""

from __future__ import annotations

import asyncio
import random
import signal
from collections import Counter
from pathlib import Path

import pytest

from config.temporal import connect
from store.migrate import upgrade
from tests.faults.scenario import audit, finish, members, platform, reached, start_missions
from tests.faults.stack import TemporalServer, settings_for, worker_process

pytestmark = pytest.mark.faults

SEED = 7233
MISSIONS = 20


async def test_missions_survive_temporal_server_restarts(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    server = TemporalServer(tmp_path)
    server.start()
    database_url = f"sqlite:///{tmp_path / 'innot.db'}"
    upgrade(database_url)
    settings = settings_for(tmp_path, database_url, server.address)
    worker = worker_process(settings, tmp_path)
    worker.start()
    outages: list[str] = []
    try:
        temporal = await connect(settings)
        async with platform(settings, temporal) as p:
            client, experts = await members(p)
            runs = start_missions(p, MISSIONS, client, experts)
            # in the middle of the run: once a few missions sign, and again once a few deliver
            for sig, step in ((signal.SIGTERM, "sign_contract"), (signal.SIGKILL, "submit_deliverable")):
                steps = await reached(runs, step, rng.randint(3, 8))
                await asyncio.to_thread(server.stop, sig)
                down = rng.uniform(3, 8)
                await asyncio.sleep(down)
                await asyncio.to_thread(server.start)
                outages.append(f"{sig.name} for {down:.1f}s while missions were at {dict(Counter(steps))}")
            await finish(runs, within=240)
            assert worker.running and worker.starts == 1, "the worker survived the outages without a restart"
            report = audit(p.sessions, [r.mission_id for r in runs])
            assert report["missions"] == MISSIONS
            assert p.calls.statuses[500] == 0
            print(f"\n{outages}; {report}; API answers {dict(p.calls.statuses)}")
    finally:
        worker.stop()
        server.stop()
