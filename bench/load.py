"""Load benchmark: ``python -m bench.load [--missions 100] [--budget 300]``.

On the embedded default (a Temporal dev server on a SQLite file, a SQLite database, one worker process for the
mission queue and one for the documents queue, the API in this process), in one run:
* **ours**: N complete missions at once through the HTTP API (need, shortlist, invitation, proposal, contract
  rendered and signed by both parties and sealed, two milestones delivered, accepted, invoiced with Factur-X and
  paid, both ratings): missions per minute, history events per mission, CPU seconds per process;
* **floor**, measured in the same run on the same server once our workers are stopped: a bare workflow per
  mission with as many activities (no-op), updates, timers and child workflows as a real mission's histories
  hold (counted from them), N at once, plus the bare WeasyPrint render (``HTML(string).write_pdf()``) of the
  documents the missions rendered (one contract, two invoices each), all of them, one after the other as on one
  documents worker;
* the ratio ours / floor in missions per minute (goal >= 0.7).
Prints the figures and writes ``var/bench/load.json`` with the machine. Run from the repository root (it drives
the missions with the fault tests' scenario, ``tests/faults/scenario.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import py_compile
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker

GOAL = 0.7
COUNTED = {
    "activities": EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    "updates": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    "timers": EventType.EVENT_TYPE_TIMER_STARTED,
    "children": EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
}
LOCAL_ACTIVITY_MARKER = "core_local_activity"


# --- the floor: a bare workflow with a mission's numbers of activities, updates, timers and children ---------


@dataclass
class FloorPlan:
    activities: int
    updates: int
    timers: int
    children: int
    local_activities: int = 0


@activity.defn(name="floor_noop")
async def floor_noop(n: int) -> int:
    return n


@workflow.defn(name="FloorChild")
class FloorChild:
    @workflow.run
    async def run(self, n: int) -> int:
        return n


@workflow.defn(name="FloorWorkflow")
class FloorWorkflow:
    """Waits for each update with a timer (cancelled by the update, as a mission's deadlines are), runs an
    equal share of the activities and local activities after each, spends the remaining timers as short sleeps,
    starts the children."""

    def __init__(self) -> None:
        self.received = 0

    @workflow.run
    async def run(self, plan: FloorPlan) -> int:
        steps = plan.updates + 1
        done = 0
        for step in range(steps):
            if step:
                try:
                    await workflow.wait_condition(lambda: self.received >= step, timeout=timedelta(days=7))  # noqa: B023
                except TimeoutError:
                    return -1
            share = plan.activities * (step + 1) // steps - plan.activities * step // steps
            for _ in range(share):
                done += await workflow.execute_activity(floor_noop, 1, start_to_close_timeout=timedelta(seconds=30))
            local = plan.local_activities * (step + 1) // steps - plan.local_activities * step // steps
            for _ in range(local):
                await workflow.execute_local_activity(floor_noop, 1, start_to_close_timeout=timedelta(seconds=30))
        for _ in range(max(plan.timers - plan.updates, 0)):
            await workflow.sleep(timedelta(milliseconds=10))
        for n in range(plan.children):
            await workflow.execute_child_workflow(FloorChild.run, n, id=f"{workflow.info().workflow_id}:child:{n}")
        return done

    @workflow.update
    async def advance(self) -> int:
        self.received += 1
        return self.received


async def run_floor(client: Client, plan: FloorPlan, missions: int) -> float:
    import bench.load as this  # the workflow sandbox refuses classes of __main__ (python -m bench.load)

    # the sandbox imports this module again for each floor workflow run: give it bytecode, as the platform's
    # worker gives its workflow modules (config.temporal.compile_workflows), so neither side compiles per run
    with contextlib.suppress(OSError):
        py_compile.compile(this.__file__, doraise=True)
    task_queue = f"floor-{uuid.uuid4().hex[:8]}"
    worker = Worker(
        client, task_queue=task_queue, workflows=[this.FloorWorkflow, this.FloorChild], activities=[this.floor_noop]
    )

    async def one(n: int) -> None:
        handle = await client.start_workflow(
            this.FloorWorkflow.run, plan, id=f"floor:{task_queue}:{n}", task_queue=task_queue
        )
        for _ in range(plan.updates):
            await handle.execute_update(this.FloorWorkflow.advance)
        assert await handle.result() == plan.activities

    async with worker:
        started = time.monotonic()
        await asyncio.gather(*(one(n) for n in range(missions)))
        return time.monotonic() - started


@dataclass
class BareRenders:
    seconds: float  # all of them, one after the other
    median_ms: dict[str, float]


def bare_renders(root: Path, missions: int) -> BareRenders:
    """The bare WeasyPrint render (stylesheet inlined) of as many of our contract and invoice pages as the missions
    rendered (one contract, two invoices each), one after the other as on one documents worker: their total wall
    time, which is their CPU time. All are rendered, not a few extrapolated: over a minute or so, this counts the
    garbage collections and the machine's slower moments that ours also meets (5 medians extrapolated moved the
    floor by a third from one run to the next)."""
    from bench.documents import Bench, bare_render, with_inline_css

    bench = Bench(root)
    bench.invoice(0)
    invoice_html = with_inline_css(bench.renderer.last_html)
    bench.docs.render_contract(bench.contract_request())
    contract_html = with_inline_css(bench.renderer.last_html)
    bare_render(contract_html)  # warm-up: fonts
    times: dict[str, list[float]] = {"contract": [], "invoice": []}
    pages = [("contract", contract_html), ("invoice", invoice_html), ("invoice", invoice_html)] * missions
    started = time.perf_counter()
    for name, html in pages:
        one = time.perf_counter()
        bare_render(html)
        times[name].append(time.perf_counter() - one)
    seconds = time.perf_counter() - started
    return BareRenders(seconds, {name: round(statistics.median(t) * 1000, 1) for name, t in times.items()})


# --- ours ------------------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def history_counts(client: Client, mission_id: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for workflow_id in (
        f"mission:{mission_id}",
        f"mission:{mission_id}:milestone:1",
        f"mission:{mission_id}:milestone:2",
    ):
        async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
            counts["events"] += 1
            for name, kind in COUNTED.items():
                if event.event_type == kind:
                    counts[name] += 1
            marker = event.marker_recorded_event_attributes.marker_name
            if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED and marker == LOCAL_ACTIVITY_MARKER:
                counts["local_activities"] += 1
    return counts


async def run(missions: int, budget: float, root: Path, poll: tuple[float, float]) -> dict[str, Any]:
    from config.temporal import connect
    from store.migrate import upgrade
    from tests.faults import scenario
    from tests.faults.scenario import finish, members, platform, start_missions
    from tests.faults.stack import TemporalServer, settings_for, worker_process

    scenario.POLL_SECONDS = poll
    server = TemporalServer(root, pragmas=("journal_mode=wal", "synchronous=normal"))
    server.start()
    database_url = f"sqlite:///{root / 'innot.db'}"
    upgrade(database_url)
    settings = settings_for(root, database_url, server.address)
    workers = [worker_process(settings, root, "missions", "worker-missions"),
               worker_process(settings, root, "documents", "worker-documents")]  # fmt: skip
    for w in workers:
        w.start()
    result: dict[str, Any] = {"missions": missions, "inbox_poll_seconds": list(poll)}
    try:
        temporal = await connect(settings)
        async with platform(settings, temporal) as p:
            client, experts = await members(p)
            cpu_before = {w.name: cpu_seconds(w.proc.pid) for w in workers if w.proc}
            cpu_before |= {"temporal": cpu_seconds(server.proc.pid) if server.proc else 0.0}
            own_before = time.process_time()
            print(f"ours: {missions} missions through the API...", flush=True)
            started = time.monotonic()
            runs = start_missions(p, missions, client, experts)
            await finish(runs, within=budget)
            seconds = time.monotonic() - started
            cpu = {w.name: cpu_seconds(w.proc.pid) - cpu_before[w.name] for w in workers if w.proc}
            cpu["temporal"] = (cpu_seconds(server.proc.pid) if server.proc else 0.0) - cpu_before["temporal"]
            cpu["api_and_driver"] = time.process_time() - own_before
            sample = [await history_counts(temporal, r.mission_id) for r in runs[:5]]
            kinds = ["events", *COUNTED, "local_activities"]
            per_mission = {k: round(statistics.mean(c[k] for c in sample), 1) for k in kinds}
            result["ours"] = {
                "seconds": round(seconds, 1),
                "missions_per_minute": round(missions / seconds * 60, 2),
                "history_per_mission": per_mission,
                "cpu_seconds": {k: round(v, 1) for k, v in cpu.items()},
                "api_answers": dict(p.calls.statuses),
            }
        for w in workers:
            w.stop()
        plan = FloorPlan(
            activities=round(per_mission["activities"]),
            updates=round(per_mission["updates"]),
            timers=round(per_mission["timers"]),
            children=round(per_mission["children"]),
            local_activities=round(per_mission["local_activities"]),
        )
        print(f"floor: {missions} bare workflows of {plan}...", flush=True)
        floor_client = await Client.connect(server.address)
        temporal_before, own_before = cpu_seconds(server.proc.pid) if server.proc else 0.0, time.process_time()
        workflow_seconds = await run_floor(floor_client, plan, missions)
        floor_cpu = time.process_time() - own_before
        floor_cpu += (cpu_seconds(server.proc.pid) if server.proc else 0.0) - temporal_before
        print(f"floor: {missions * 3} bare renders...", flush=True)
        renders = await asyncio.to_thread(bare_renders, root / "render", missions)
        render_seconds = renders.seconds
        floor_seconds = workflow_seconds + render_seconds
        floor_cpu += render_seconds  # a bare render is CPU-bound: its wall time is its CPU time
        result["floor"] = {
            "plan": plan.__dict__,
            "workflow_seconds": round(workflow_seconds, 1),
            "bare_render_median_ms": renders.median_ms,
            "render_seconds": round(render_seconds, 1),
            "missions_per_minute": round(missions / floor_seconds * 60, 2),
            "cpu_seconds": round(floor_cpu, 1),
        }
        # On a shared machine the wall-clock ratio moves with the neighbours' load; CPU seconds per mission (ours:
        # every process of the platform, the API and the driver; floor: server, bare worker and driver, renders)
        # are steadier.
        result["cpu_ratio"] = round(floor_cpu / sum(result["ours"]["cpu_seconds"].values()), 3)
        result["ratio"] = round(result["ours"]["missions_per_minute"] / result["floor"]["missions_per_minute"], 3)
        result["goal"] = f"ours >= {GOAL} x floor (missions per minute)"
        return result
    finally:
        for w in workers:
            w.stop()
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--missions", type=int, default=100)
    parser.add_argument("--budget", type=float, default=300.0, help="seconds allowed for our missions")
    parser.add_argument("--poll", type=float, nargs=2, default=(1.0, 2.0), help="inbox polling interval range (s)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.faults, when run from elsewhere
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="innot-bench-load-") as tmp:
        result = asyncio.run(run(args.missions, args.budget, Path(tmp), (args.poll[0], args.poll[1])))
    result["machine"] = {
        "nproc": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    result["at"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["seconds"] = round(time.monotonic() - started, 1)
    ours, floor = result["ours"], result["floor"]
    events = ours["history_per_mission"]["events"]
    print(f"ours : {ours['missions_per_minute']:7.2f} missions/min ({ours['seconds']} s), {events} history events")
    print(f"       per mission, CPU seconds {ours['cpu_seconds']}")
    print(
        f"floor: {floor['missions_per_minute']:7.2f} missions/min "
        f"(workflows {floor['workflow_seconds']} s + bare renders {floor['render_seconds']} s)"
    )
    print(f"ratio: {result['ratio']:.2f} (goal >= {GOAL}); CPU seconds floor / ours: {result['cpu_ratio']:.2f}")
    from config.settings import VAR  # not at the top: the workflow sandbox re-imports this module

    out = VAR / "bench" / "load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
