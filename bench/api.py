"""API benchmark: reads from the read model against a bare FastAPI endpoint, and a human action (HTTP -> workflow
Update -> answer) against a bare Temporal Update, all in the same run on this machine.

One uvicorn process serves the real app on 127.0.0.1 and another process runs the workers (as `innot dev` does),
plus, for the bench only, a bare endpoint that reads one row. The read model is seeded directly with a realistic
volume (1,000 missions over 4 organisations, timelines, milestones, tasks). This process drives the load with an
async loop, bounded in count and time, at 1 and 50 concurrent connections:

- `GET /missions/{id}` (mission detail) and `GET /tasks` (inbox), authenticated as a client;
- `GET /bench/bare/{id}`: the same app, no auth, one `session.get` of a mission row.

Human action: `POST /ops/missions/{id}/pause` then `/resume` (accepted workflow Updates, audited), its answer and
what a person waits for (the answer, then the mission's page until its timeline shows the action), against a bare
Update round trip on a trivial workflow through the same Temporal server and data converter; and, to show what the
HTTP hop alone adds, that bare Update sent from a bench-only route with no authentication, check or audit. The five
ways take turns, round after round, on five missions each (so none carries an unreal timeline). The API process
runs on the event loop `innot api` gets from uvicorn (uvloop).
Goals: detail and inbox >= 0.8 x the bare endpoint's req/s; action p50 <= 1.3 x the bare Update p50.
The measured requests go through aiohttp's client (setup goes through httpx, as the other tools do): a POST
answered by a no-op route took 3.7 ms p50 through httpx, 2.1 ms through aiohttp and 1.6 ms written on a raw
socket on this machine, and what the client spends is not the server's figure.
Writes ``var/bench/api.json`` with the machine. `python -m bench.api [--requests N] [--seconds S]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from fastapi import Request
from pydantic import BaseModel
from temporalio import workflow

from config.settings import ROOT, Settings

VAR = ROOT / "var"
PASSWORD = "Bench-Passw0rd!-2026"  # noqa: S105 - a throwaway account on a throwaway database
STAGES = ["shortlist", "invitations", "proposals", "contract", "delivery", "feedback", "closed"]


# --- the bare Temporal Update baseline ------------------------------------------------------------------------


class Ping(BaseModel):
    n: int


class Pong(BaseModel):
    n: int
    at: datetime


@workflow.defn(name="BenchEcho")
class EchoWorkflow:
    """A trivial workflow with one update: the floor of an Update round trip on this Temporal server."""

    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.done)

    @workflow.update
    async def echo(self, ping: Ping) -> Pong:
        return Pong(n=ping.n, at=workflow.now())

    @echo.validator
    def _v_echo(self, ping: Ping) -> None:
        if ping.n < 0:
            raise ValueError("n: must be >= 0")

    @workflow.signal
    def stop(self) -> None:
        self.done = True


# --- the server process ---------------------------------------------------------------------------------------


def bare(mission_id: uuid.UUID, request: Request) -> dict[str, Any]:
    """The bench-only baseline: FastAPI reading one mission row, no authentication."""
    from store.models.readmodel import MissionRecord

    with request.app.state.session_factory() as session:
        row = session.get(MissionRecord, mission_id)
        return {"id": str(mission_id), "stage": row.stage if row else None, "title": row.title if row else None}


async def bare_update(workflow_id: str, request: Request) -> dict[str, Any]:
    """The bench-only floor of an action over HTTP: the bare Update of the echo workflow from a route with no
    authentication, check or audit (what HTTP alone adds to an Update round trip)."""
    handle = request.app.state.temporal.get_workflow_handle(workflow_id)
    pong = await handle.execute_update(EchoWorkflow.echo, Ping(n=1), result_type=Pong)
    return pong.model_dump(mode="json")


def _settings(config: dict[str, Any]) -> Settings:
    return Settings(environment="test", **config)


async def serve(config: dict[str, Any], port: int) -> None:
    """The API under uvicorn on 127.0.0.1, plus the bench-only bare endpoint. Workers run in their own process,
    as `make run` runs them (`work`)."""
    import uvicorn

    from api.app import create_app
    from config.temporal import connect

    settings = _settings(config)
    app = create_app(settings, temporal=await connect(settings))
    app.add_api_route("/bench/bare/{mission_id}", bare, methods=["GET"], include_in_schema=False)
    app.add_api_route("/bench/bare-update/{workflow_id}", bare_update, methods=["POST"], include_in_schema=False)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")
    )
    await server.serve()


async def work(config: dict[str, Any]) -> None:
    """The worker process: the real workers, and the echo workflow's worker for the bare Update baseline."""
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker

    from bench import api as importable  # the workflow class from an importable module (not __main__)
    from config.temporal import connect
    from worker import build_workers

    settings = _settings(config)
    client = await connect(settings)
    workers = build_workers(client, settings)
    # unsandboxed: this module imports the bench's tools; the echo workflow itself is deterministic
    workers.append(
        Worker(
            client,
            task_queue=f"{settings.task_queue}-echo",
            workflows=[importable.EchoWorkflow],
            workflow_runner=UnsandboxedWorkflowRunner(),
        )
    )
    await asyncio.gather(*(w.run() for w in workers))


# --- seeding ----------------------------------------------------------------------------------------------------


def seed(database_url: str, client_org: uuid.UUID, missions: int, orgs: int) -> list[uuid.UUID]:
    """Missions spread over `orgs` organisations (the first is the measured client's), each with a timeline of
    8 events, 2 milestones and 3 tasks of which few are still open (a realistic inbox: a few dozen)."""
    from sqlalchemy import insert

    from activities.timeline import refresh_detail
    from store.db import make_engine, make_session_factory, transaction
    from store.models.readmodel import MissionMilestone, MissionRecord, Task, TimelineEvent

    rng = random.Random(7)
    organisations = [client_org] + [uuid.uuid4() for _ in range(orgs - 1)]
    now = datetime.now(UTC)
    records, events, milestones, tasks = [], [], [], []
    ours = []
    for n in range(missions):
        mission_id, org = uuid.uuid4(), organisations[n % orgs]
        if org == client_org:
            ours.append(mission_id)
        stage = rng.choice(STAGES)
        workflow_id = f"mission:{mission_id}"
        records.append(
            {
                "id": mission_id, "workflow_id": workflow_id, "client_org_id": org, "title": f"Mission {n}",
                "business_function": "finance", "stage": stage, "paused": False, "selected_expert_id": uuid.uuid4(),
                "next_deadline": now + timedelta(days=rng.randint(1, 60)), "closed_reason": None, "last_seq": 8,
                "created_at": now - timedelta(days=90), "updated_at": now - timedelta(days=rng.randint(0, 90)),
            }
        )  # fmt: skip
        for seq in range(1, 9):
            events.append(
                {
                    "id": uuid.uuid4(), "workflow_id": workflow_id, "seq": seq, "mission_id": mission_id,
                    "at": now - timedelta(days=90 - seq), "kind": "stage_changed", "stage": STAGES[seq % 7],
                    "actor_user_id": None, "actor_role": "client", "summary": f"step {seq} of mission {n}",
                    "details": {},
                }
            )  # fmt: skip
        for number in (1, 2):
            milestones.append(
                {
                    "id": uuid.uuid4(), "mission_id": mission_id, "number": number,
                    "workflow_id": f"{workflow_id}:milestone:{number}", "title": f"Milestone {number}",
                    "amount": Decimal("3600.00"), "currency": "EUR", "stage": "delivery", "invoice_number": None,
                    "invoice_due": None, "paid_on": None, "last_seq": 1,
                }
            )  # fmt: skip
        for k, action in enumerate(("review_shortlist", "select_proposal", "sign_contract")):
            still_open = rng.random() < 0.03
            tasks.append(
                {
                    "id": uuid.uuid4(), "workflow_id": workflow_id, "key": f"{action}:{k}", "mission_id": mission_id,
                    "role": "client", "party_id": org, "action": action, "title": f"{action} for mission {n}",
                    "due_at": now + timedelta(days=k + 1), "opened_at": now - timedelta(days=10),
                    "closed_at": None if still_open else now - timedelta(days=1),
                    "outcome": None if still_open else "done",
                }
            )  # fmt: skip
    engine = make_engine(database_url)
    with engine.begin() as conn:
        for model, rows in ((MissionRecord, records), (TimelineEvent, events), (MissionMilestone, milestones)):
            conn.execute(insert(model), rows)
        conn.execute(insert(Task), tasks)
    # and the materialised detail of each mission, as the projection activity leaves it after every event
    with transaction(make_session_factory(engine)) as session:
        for record in records:
            refresh_detail(session, record["id"])
    engine.dispose()
    return ours


# --- measuring --------------------------------------------------------------------------------------------------


async def load(
    client: aiohttp.ClientSession,
    urls: list[str],
    headers: dict[str, str],
    concurrency: int,
    count: int,
    seconds: float,
) -> dict[str, Any]:
    """`count` GETs (at most `seconds`) over `concurrency` connections; req/s and latency percentiles."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    next_index = iter(range(count))

    async def run() -> None:
        nonlocal errors
        for i in next_index:
            if time.perf_counter() > deadline:
                return
            started = time.perf_counter()
            async with client.get(urls[i % len(urls)], headers=headers) as answer:
                body = await answer.read()
            latencies.append(time.perf_counter() - started)
            if answer.status != 200:
                errors += 1
                if errors == 1:
                    print(f"  {urls[i % len(urls)]}: {answer.status} {body[:300]!r}", flush=True)

    for url in urls[:3]:  # warm up
        async with client.get(url, headers=headers) as answer:
            await answer.read()
    started = time.perf_counter()
    await asyncio.gather(*(run() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    return {"requests": len(latencies), "errors": errors, **_stats(latencies), "rps": round(len(latencies) / wall, 1)}


def _stats(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
    }


ACTION_GAP = 0.05


async def timed(n: int, actions: dict[str, Callable[[int], Awaitable[None]]]) -> dict[str, dict[str, float]]:
    """p50/p99 of n round trips of each way, one at a time, ACTION_GAP seconds apart (untimed): separate human
    actions, not a burst. The ways take turns (round i: each once, starting one further each round), so that a
    slower minute of the machine, or a mission's growing timeline, weighs on all of them alike."""
    names = list(actions)
    latencies: dict[str, list[float]] = {name: [] for name in names}
    for i in range(n):
        for k in range(len(names)):
            name = names[(i + k) % len(names)]
            await asyncio.sleep(ACTION_GAP)
            started = time.perf_counter()
            await actions[name](i)
            latencies[name].append(time.perf_counter() - started)
    return {name: _stats(values[2:]) for name, values in latencies.items()}  # the first two warm the paths up


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(300):
            if server.poll() is not None:
                raise RuntimeError(f"the API server exited with {server.returncode}")
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the API server did not come up")


async def measure(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    from temporalio.testing import WorkflowEnvironment

    from store.migrate import upgrade
    from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

    database_url = args.database_url or f"sqlite:///{root / 'bench.db'}"
    upgrade(database_url)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        search_attributes=list(SEARCH_ATTRIBUTES),
        ui=False,
    )
    tag = uuid.uuid4().hex[:8]
    config = {
        "database_url": database_url,
        "temporal_address": env.client.service_client.config.target_host,
        "task_queue": f"bench-{tag}",
        "documents_task_queue": f"bench-docs-{tag}",
        "document_store": f"file://{root / 'documents'}",
        "keys_dir": str(root / "keys"),
    }
    port = _free_port()
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before any measurement
        [sys.executable, "-m", "bench.api", "--serve", json.dumps(config), "--port", str(port)], cwd=ROOT
    )
    workers = subprocess.Popen(  # noqa: ASYNC220 - started once, before any measurement
        [sys.executable, "-m", "bench.api", "--work", json.dumps(config)], cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await _until_up(base, server)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http, _driver(base) as driver:
            result = await _run(args, http, driver, config, database_url)
    finally:
        for process in (server, workers):
            process.terminate()
            process.wait(timeout=60)
        await env.shutdown()
    update = result["update"]
    bare_p50 = update["bare_temporal_update"]["p50_ms"]
    update["ratio_p50"] = round(update["api_action"]["p50_ms"] / bare_p50, 2)
    update["visible_ratio_p50"] = round(update["api_action_visible"]["p50_ms"] / bare_p50, 2)
    # what HTTP alone costs, measured the same way: the part of the ratio no route can go below
    update["bare_over_http_ratio_p50"] = round(update["bare_update_over_http"]["p50_ms"] / bare_p50, 2)
    return result


def _driver(base: str) -> aiohttp.ClientSession:
    """The measuring client: up to 64 kept-alive connections (the reads run 50 at once), 30 s per request."""
    connector = aiohttp.TCPConnector(limit=64, limit_per_host=64)
    return aiohttp.ClientSession(base, connector=connector, timeout=aiohttp.ClientTimeout(total=30))


async def _post(driver: aiohttp.ClientSession, path: str, body: dict[str, Any], headers: dict[str, str]) -> None:
    """One measured POST; its answer must be a 200."""
    async with driver.post(path, json=body, headers=headers) as answer:
        text = await answer.text()
    assert answer.status == 200, text


async def _run(
    args: argparse.Namespace, http: httpx.AsyncClient, driver: aiohttp.ClientSession, config: dict[str, Any], url: str
) -> dict[str, Any]:

    from api.security import hash_password
    from cli.demo import Party, enrol_second_factor, pay_fees
    from cli.onboarding import vet_members
    from store import account_security, accounts
    from store.db import make_engine, make_session_factory, transaction

    email = f"bench.{uuid.uuid4().hex[:8]}@bench-client.example"
    registration = {
        "account": {"email": email, "full_name": "Bench Client", "password": PASSWORD},
        "organisation": {
            "legal_name": "Bench Industrie SAS", "legal_form": "SAS", "siret": "73282932000074",
            "vat_number": "FR44732829320", "billing_email": "compta@bench.example", "address_line": "1 rue du Banc",
            "postcode": "69002", "city": "Lyon", "country": "FR",
        },
    }  # fmt: skip
    registered = (await http.post("/auth/register/client", json=registration)).json()
    org_id = uuid.UUID(registered["member_id"])
    engine = make_engine(url)
    ops_email = f"ops.{uuid.uuid4().hex[:8]}@bench-ops.example"
    with transaction(make_session_factory(engine)) as session:
        accounts.create_user(
            session, email=ops_email, full_name="Bench Ops", password_hash=await hash_password(PASSWORD), role="ops"
        )
        # the bench measures missions, not accounts: its client's address counts as verified (as seeded data)
        client_user = accounts.user_by_email(session, email=email)
        assert client_user is not None
        account_security.mark_email_verified(session, user=client_user)
    engine.dispose()
    seeded = time.perf_counter()
    ours = seed(url, org_id, args.missions, args.orgs)
    print(f"seeded {args.missions} missions in {time.perf_counter() - seeded:.1f} s", flush=True)

    async def token(address: str) -> dict[str, str]:
        answer = (await http.post("/auth/login", json={"email": address, "password": PASSWORD})).json()
        return {"Authorization": f"Bearer {answer['access_token']}"}

    client, ops = await token(email), await token(ops_email)
    await enrol_second_factor(http, Party(ops_email, ops))  # every ops route needs the second factor
    # the organisation's registration fee, confirmed by ops through its membership workflow (as in production)
    members = [Party(email, client, str(org_id))]
    await vet_members(http, Party(ops_email, ops), members, qualify_needs=False)  # vetted, needs go to matching
    await pay_fees(http, Party(ops_email, ops), members)
    inbox = (await http.get("/tasks", headers=client)).json()
    detail = (await http.get(f"/missions/{ours[0]}", headers=client)).json()
    print(f"inbox: {len(inbox)} open tasks; detail: {len(detail['timeline'])} timeline events", flush=True)
    targets = {
        "bare": ([f"/bench/bare/{m}" for m in ours], {}),
        "detail": ([f"/missions/{m}" for m in ours], client),
        "inbox": (["/tasks"], client),
    }
    reads: dict[str, Any] = {}
    for concurrency in (1, 50):
        for name, (urls, headers) in targets.items():
            figures = await load(driver, urls, headers, concurrency, args.requests, args.seconds)
            reads[f"{name}@{concurrency}"] = figures
            print(f"{name:>6} @{concurrency:<2}: {figures}", flush=True)
    for concurrency in (1, 50):
        for name in ("detail", "inbox"):
            ratio = reads[f"{name}@{concurrency}"]["rps"] / reads[f"bare@{concurrency}"]["rps"]
            reads[f"{name}@{concurrency}"]["ratio_to_bare"] = round(ratio, 2)

    # A directory to match, so the mission waits in a stable stage (the client's shortlist review) while ops
    # pause and resume it: an empty directory would park it in needs_attention, where resume retries matching.
    from store.seed import seed_experts

    engine = make_engine(url)
    seed_experts(make_session_factory(engine), 300, 11)
    engine.dispose()
    # Several missions for each way of acting, in turn: one mission paused and resumed a hundred times would carry
    # a timeline no real mission has (its read model grows with every action).
    missions = [await _waiting_mission(http, client) for _ in range(3 * ACTION_MISSIONS)]
    through_api, direct_ones = missions[:ACTION_MISSIONS], missions[ACTION_MISSIONS : 2 * ACTION_MISSIONS]
    visible_ones = missions[2 * ACTION_MISSIONS :]

    def target(pool: list[str], i: int) -> tuple[str, str]:
        """Round i's mission of the pool, and whether to pause it or resume it (each one alternates)."""
        return pool[i % len(pool)], "pause" if (i // len(pool)) % 2 == 0 else "resume"

    async def act(i: int) -> None:
        mission_id, action = target(through_api, i)
        await _post(driver, f"/ops/missions/{mission_id}/{action}", {"reason": "bench round trip"}, ops)

    polls: list[int] = []

    async def act_visible(i: int) -> None:
        """The action, then the mission's page until its timeline shows it: what a person waits for."""
        mission_id, action = target(visible_ones, i)
        await _post(driver, f"/ops/missions/{mission_id}/{action}", {"reason": "bench round trip"}, ops)
        wanted, reads = ("paused" if action == "pause" else "resumed"), 0
        while True:
            reads += 1
            async with driver.get(f"/missions/{mission_id}", headers=client) as answer:
                page = await answer.json()
            if page["timeline"][-1]["kind"] == wanted:
                break
        polls.append(reads)

    # the same updates straight from a Temporal client (no HTTP, auth, check or audit): where the time goes
    from bench import api as importable
    from config.temporal import connect
    from domain.actors import Actor, Role
    from domain.mission import PauseMission, ResumeMission
    from workflows.client import send_update

    temporal = await connect(_settings(config))
    ops_actor = Actor(user_id=uuid.uuid4(), role=Role.OPS)

    async def direct(i: int) -> None:
        mission_id, action = target(direct_ones, i)
        command = (PauseMission if action == "pause" else ResumeMission)(reason="bench", actor=ops_actor)
        await send_update(temporal, uuid.UUID(mission_id), action, command)

    # the floor: a trivial workflow's Update (its worker runs in the worker process, next to the mission workers),
    # straight from the client, and from a bench-only route with no authentication, check or audit
    echo = await temporal.start_workflow(
        importable.EchoWorkflow.run, id=f"bench-echo-{uuid.uuid4()}", task_queue=f"{config['task_queue']}-echo"
    )

    async def bare(i: int) -> None:
        await echo.execute_update(importable.EchoWorkflow.echo, importable.Ping(n=i))

    async def bare_over_http(i: int) -> None:
        await _post(driver, f"/bench/bare-update/{echo.id}", {}, {})

    figures = await timed(
        args.updates,
        {
            "api_action": act,
            "api_action_visible": act_visible,
            "our_update_without_http": direct,
            "bare_temporal_update": bare,
            "bare_update_over_http": bare_over_http,
        },
    )
    await echo.signal(importable.EchoWorkflow.stop)
    figures["page_reads_until_visible"] = {"mean": round(statistics.mean(polls), 2), "max": max(polls)}
    return {"reads": reads, "update": figures, "inbox_tasks": len(inbox)}


ACTION_MISSIONS = 5


async def _waiting_mission(http: httpx.AsyncClient, client: dict[str, str]) -> str:
    """A new mission, once it waits in a stable stage (the client's shortlist review) where ops may pause and resume
    it: with no directory to match, it would wait in needs_attention, where resume retries matching."""
    created = await http.post("/missions", json=_need(), headers=client)
    assert created.status_code == 201, created.text
    mission_id: str = created.json()["mission_id"]
    for _ in range(200):
        shown = await http.get(f"/missions/{mission_id}", headers=client)
        stage = shown.json()["mission"]["stage"] if shown.status_code == 200 else "not yet shown"
        if stage in ("shortlist", "needs_attention"):
            break
        await asyncio.sleep(0.1)
    assert stage == "shortlist", f"the bench mission should wait for the shortlist review, not in {stage}"
    return mission_id


def _need() -> dict[str, Any]:
    return {
        "title": "Budget process review", "description": "Review our budget process and the quarterly forecast.",
        "business_function": "finance", "skills": ["financial_modelling"], "languages": ["fr"], "remote": True,
        "budget_min": "700.00", "budget_max": "1100.00", "currency": "EUR",
        "start_date": (date.today() + timedelta(days=7)).isoformat(), "duration_days": 30, "confidential": False,
        "mission_language": "fr",
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="requests per read measurement (bounded)")
    parser.add_argument("--seconds", type=float, default=12.0, help="time bound per read measurement")
    parser.add_argument("--updates", type=int, default=100, help="round trips per update measurement")
    parser.add_argument("--missions", type=int, default=1000)
    parser.add_argument("--orgs", type=int, default=4)
    parser.add_argument("--database-url", default=os.environ.get("INNOT_BENCH_DATABASE_URL"))
    parser.add_argument("--out", type=Path, default=VAR / "bench" / "api.json")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        import uvicorn

        # the event loop `innot api` runs on: uvicorn.run's (loop "auto": uvloop when installed, as it is here)
        with asyncio.Runner(loop_factory=uvicorn.Config("api.app:create_app").get_loop_factory()) as runner:
            runner.run(serve(json.loads(args.serve), args.port))
        return
    if args.work:
        asyncio.run(work(json.loads(args.work)))
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="innot-bench-api-") as tmp:
        figures = asyncio.run(measure(args, Path(tmp)))
    result = {
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": "sqlite" if not args.database_url else args.database_url.split(":")[0],
        **figures,
        "goals": {"reads": "detail and inbox >= 0.8 x bare req/s", "update": "api_action p50 <= 1.3 x bare update p50"},
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps({"reads": result["reads"], "update": result["update"]}, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.out} ({result['seconds']} s)")


if __name__ == "__main__":
    main()
