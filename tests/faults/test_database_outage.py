"""PostgreSQL unreachable for 30 s in the middle of a run (a proxy between the platform and the server drops
every connection and refuses new ones): the API answers 503 with a clear message, fast, and a write attempted
meanwhile is refused whole (nothing half-done); the activities retry, and every mission closes afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from cli.demo import need
from config.temporal import connect
from store.db import make_engine, make_session_factory
from store.migrate import upgrade
from tests.faults.proxy import CuttableProxy
from tests.faults.scenario import STEPS, Platform, audit, finish, members, platform, reached, start_missions
from tests.faults.stack import TemporalServer, postgres_database, settings_for, worker_process

pytestmark = pytest.mark.faults

ADMIN_URL = os.environ.get("INNOT_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test"
MISSIONS = 20
OUTAGE = 30.0


async def probe(p: Platform, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> tuple[int, str, float]:
    started = time.monotonic()
    answer = await p.api.request(method, path, headers=headers, **kwargs)
    return answer.status_code, answer.text, time.monotonic() - started


async def test_missions_survive_a_database_outage(tmp_path: Path) -> None:
    rng = random.Random(5432)
    server = TemporalServer(tmp_path)
    server.start()
    with (
        postgres_database(ADMIN_URL) as direct_url,
        CuttableProxy("127.0.0.1", make_url(direct_url).port or 5432) as proxy,
    ):
        upgrade(direct_url)
        proxied_url = str(make_url(direct_url).set(host="127.0.0.1", port=proxy.port))
        settings = settings_for(tmp_path, proxied_url, server.address)
        worker = worker_process(settings, tmp_path)
        worker.start()
        direct = make_engine(direct_url)
        try:
            temporal = await connect(settings)
            async with platform(settings, temporal) as p:
                client, experts = await members(p)
                runs = start_missions(p, MISSIONS, client, experts)
                # Cut once a few missions have an invited expert (a thread to write in), at a seeded moment.
                await reached(runs, "select_proposal", rng.randint(3, 6))
                talking = next(r for r in runs if STEPS.index(r.step) >= STEPS.index("select_proposal"))
                thread = f"/missions/{talking.mission_id}/threads/{talking.expert.member_id}/messages"
                steps = Counter(r.step for r in runs)

                proxy.cut()
                cut_at = time.monotonic()
                answers = []
                await asyncio.sleep(2)
                answers.append(await probe(p, "GET", "/tasks", client.headers))
                answers.append(
                    await probe(p, "POST", thread, client.headers, json={"body": "written during the outage"})
                )
                answers.append(
                    await probe(p, "POST", "/missions", client.headers | {"Idempotency-Key": "outage"}, json=need())
                )
                answers.append(await probe(p, "GET", f"/missions/{talking.mission_id}", client.headers))
                await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - cut_at)))
                proxy.restore()

                for status, body, seconds in answers:
                    assert status == 503, (status, body)
                    assert "database is unavailable" in body, body
                    assert seconds < 5, f"the API took {seconds:.1f}s to say it cannot answer"

                # Nothing of the refused writes exists; once retried, each exists exactly once.
                messages = await _ok(p, "GET", thread, client.headers)
                assert all(m["body"] != "written during the outage" for m in messages)
                await _ok(p, "POST", thread, client.headers, 201, json={"body": "written during the outage"})
                messages = await _ok(p, "GET", thread, client.headers)
                assert [m["body"] for m in messages].count("written during the outage") == 1
                first = await _ok(
                    p, "POST", "/missions", client.headers | {"Idempotency-Key": "outage"}, 201, json=need()
                )
                again = await _ok(
                    p, "POST", "/missions", client.headers | {"Idempotency-Key": "outage"}, 201, json=need()
                )
                assert first["mission_id"] == again["mission_id"]

                await finish(runs, within=240)
                report = audit(make_session_factory(direct), [r.mission_id for r in runs])
                assert report["missions"] == MISSIONS
                assert p.calls.statuses[500] == 0
                print(f"\ncut for {OUTAGE:.0f}s at {dict(steps)}; {report}; API {dict(p.calls.statuses)}")
        finally:
            worker.stop()
            server.stop()
            direct.dispose()


async def _ok(p: Platform, method: str, path: str, headers: dict[str, str], expected: int = 200, **kwargs: Any) -> Any:
    status, body, _ = await probe(p, method, path, headers, **kwargs)
    assert status == expected, (method, path, status, body)
    return json.loads(body)
