"""A lean, complete mission driven through the HTTP API (the demo's steps with one invited expert), tolerant of
the faults the tests inject: a 503 (or a dropped request) is retried like a patient person would, and what the
platform left behind is then checked like an auditor would (`audit`)."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from api.account_mail import Outbox
from cli.demo import PASSWORD, Party, enrol_second_factor, need, pay_fees, proposal, register_parties
from cli.onboarding import vet_members
from config.settings import Settings
from store.models.legal import ContractRecord, DocumentRecord, InvoiceRecord
from store.models.readmodel import MissionMilestone, MissionRecord, Task, TimelineEvent

RETRYABLE = {502, 503, 504}
POLL_SECONDS = (0.5, 1.0)  # a party looks at its inbox every 0.5 to 1 s (bench.load: less often, as people do)


class ScenarioError(AssertionError):
    pass


@dataclass
class Calls:
    """Counts what the API answered while faults were injected (503s are expected; 500s never)."""

    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    slowest: float = 0.0


async def call(
    api: httpx.AsyncClient,
    calls: Calls,
    method: str,
    path: str,
    *,
    expected: int = 200,
    within: float = 240.0,
    done_if_conflict: bool = False,
    **kwargs: Any,
) -> Any:
    """One API call, retried on 502/503/504 until `within`. A 409 after a refused attempt may mean the first
    attempt got through after all (an update accepted, its answer lost): `done_if_conflict` says that is fine
    (the next wait proves whether it was)."""
    deadline = time.monotonic() + within
    refused = False
    while True:
        started = time.monotonic()
        try:
            answer = await api.request(method, path, **kwargs)
        except httpx.TransportError:
            calls.transport_errors += 1
            answer = None
        calls.slowest = max(calls.slowest, time.monotonic() - started)
        if answer is not None:
            calls.statuses[answer.status_code] += 1
            if answer.status_code == expected:
                return answer.json() if "json" in answer.headers.get("content-type", "") else answer
            if answer.status_code == 409 and refused and done_if_conflict:
                return None
            if answer.status_code not in RETRYABLE:
                raise ScenarioError(f"{method} {path}: {answer.status_code} {answer.text[:400]}")
        refused = True
        if time.monotonic() > deadline:
            raise ScenarioError(f"{method} {path}: still refused after {within:.0f}s")
        await asyncio.sleep(1.0 + random.random())


async def until(what: str, probe: Callable[[], Awaitable[Any]], within: float = 240.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = await probe()
        if found:
            return found
        await asyncio.sleep(random.uniform(*POLL_SECONDS))
    raise ScenarioError(f"timed out waiting for {what}")


@dataclass
class Platform:
    api: httpx.AsyncClient
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    ops: Party
    calls: Calls
    outbox: Outbox


@asynccontextmanager
async def platform(
    settings: Settings, temporal: Client, *, api_database_url: str | None = None
) -> AsyncIterator[Platform]:
    """The API app in this process (on `api_database_url` if given, e.g. through a proxy), an ops account."""
    from api.app import create_app
    from api.security import hash_password
    from store import accounts
    from store.db import make_engine, make_session_factory, transaction

    engine = make_engine(api_database_url or settings.database_url)
    sessions = make_session_factory(engine)
    ops = Party(f"ops.{uuid.uuid4().hex[:8]}@faults.example")
    with transaction(sessions) as session:
        accounts.create_user(
            session, email=ops.email, full_name="Olivia Ops", password_hash=await hash_password(PASSWORD), role="ops"
        )
    app = create_app(settings, engine=engine, temporal=temporal)
    outbox = Outbox.install(app)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://innot.faults", timeout=60) as api:
            tokens = (await api.post("/auth/login", json={"email": ops.email, "password": PASSWORD})).json()
            ops.headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            await enrol_second_factor(api, ops)
            yield Platform(api, settings, engine, sessions, ops, Calls(), outbox)
    finally:
        engine.dispose()


async def members(p: Platform) -> tuple[Party, list[Party]]:
    """One client organisation and three experts, registered and with their fees paid."""
    client, experts = await register_parties(p.api, uuid.uuid4().hex[:8], p.outbox)
    await vet_members(p.api, p.ops, [client, *experts], qualify_needs=False)
    await pay_fees(p.api, p.ops, [client, *experts])
    return client, experts


class MissionRun:
    """One mission from the need to `closed`, with one expert invited (the others removed from the shortlist)."""

    def __init__(self, p: Platform, client: Party, expert: Party, others: list[Party], key: str) -> None:
        self.p, self.client, self.expert, self.others, self.key = p, client, expert, others, key
        self.mission_id = ""
        self.step = "need"
        self.task: asyncio.Task[str] | None = None

    async def _call(self, method: str, path: str, party: Party, expected: int = 200, **kwargs: Any) -> Any:
        return await call(self.p.api, self.p.calls, method, path, expected=expected, headers=party.headers, **kwargs)

    async def _post(self, path: str, party: Party, body: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        url = f"/missions/{self.mission_id}/{path}"
        return await self._call(
            "POST", url, party, json=body if body is not None else {}, done_if_conflict=True, **kwargs
        )

    async def _wait(self, party: Party, action: str, milestone: int | None = None) -> None:
        """Until the task is in the party's inbox (the read model). A party then acts from the task, as in the
        portal; it opens the workflow's full state only where it needs it (the shortlist, the contract)."""
        self.step = action
        workflow = f"mission:{self.mission_id}" + (f":milestone:{milestone}" if milestone else "")

        async def in_inbox() -> bool:
            answer = await self.p.api.get("/tasks", headers=party.headers)
            if answer.status_code in RETRYABLE:
                return False
            return any(t["action"] == action and t["workflow_id"] == workflow for t in answer.json())

        await until(f"{action} ({self.key})", in_inbox)

    async def _state(self, party: Party) -> dict[str, Any]:
        state: dict[str, Any] = await self._call("GET", f"/missions/{self.mission_id}/state", party)
        return state

    async def _signable(self, party: Party) -> dict[str, Any] | None:
        """The contract as the party opens it, once no signature is still being recorded (after a fault, the client's
        may be when the expert comes: the workflow would refuse, "reload the contract and sign again")."""
        view = await self._state(party)
        signatures = view["contract"]["signatures"] if view.get("contract") else []
        return view if view.get("contract") and all(s["recorded"] for s in signatures) else None

    async def run(self) -> str:
        headers = self.client.headers | {"Idempotency-Key": self.key}
        created = await call(self.p.api, self.p.calls, "POST", "/missions", expected=201, json=need(), headers=headers)
        self.mission_id = created["mission_id"]
        await self._wait(self.client, "review_shortlist")
        view = await self._state(self.client)
        listed = {c["expert_id"] for c in view["shortlist"]}
        if self.expert.member_id not in listed:
            raise ScenarioError(f"{self.key}: the expert is not on the shortlist {listed}")
        removed = sorted(listed - {self.expert.member_id})
        if removed:
            await self._post("shortlist/remove", self.client, {"remove_expert_ids": removed})
        await self._post("invitations/start", self.client)
        await self._wait(self.expert, "answer_invitation")
        await self._post("invitation/accept", self.expert)
        await self._wait(self.expert, "submit_proposal")
        await self._post("proposal", self.expert, proposal("900.00"))
        await self._wait(self.client, "select_proposal")
        await self._post("proposals/select", self.client, {"expert_id": self.expert.member_id})
        for party in (self.client, self.expert):
            await self._wait(party, "sign_contract")
            view = await until(f"the contract to sign ({self.key})", lambda party=party: self._signable(party))
            sha = view["contract"]["document"]["sha256"]
            await self._post("contract/sign", party, {"expected_sha256": sha, "otp": party.otp()})
        for number in (1, 2):
            await self._deliver(number)
        for party, action in ((self.client, "rate_expert"), (self.expert, "rate_client")):
            await self._wait(party, action)
            await self._post("rating", party, {"score": 5, "comment": "Très bien"})
        self.step = "closing"

        async def closed() -> str | None:
            # the read model, as the client sees the mission (it follows the workflow's own state by a few ms)
            detail = await self.p.api.get(f"/missions/{self.mission_id}", headers=self.client.headers)
            stage = str(detail.json()["mission"]["stage"]) if detail.status_code == 200 else ""
            return stage if stage in ("closed", "cancelled", "needs_attention") else None

        stage: str = await until(f"closing ({self.key})", closed)
        return stage

    async def _deliver(self, number: int) -> None:
        await self._wait(self.expert, "submit_deliverable", number)
        body = f"%PDF-1.4\n% deliverable {number} of {self.key}\n".encode()
        files = {"file": (f"livrable-{number}.pdf", body, "application/pdf")}
        url = f"/missions/{self.mission_id}/milestones/{number}/deliverable"
        await self._call("POST", url, self.expert, files=files, done_if_conflict=True)
        await self._wait(self.client, "review_deliverable", number)
        await self._post(f"milestones/{number}/accept", self.client)
        await self._wait(self.client, "confirm_payment", number)
        await self._post(
            f"milestones/{number}/payment",
            self.client,
            {"paid_on": date.today().isoformat(), "reference": f"VIR-{self.key}-{number}"},
        )


STEPS = [
    "need", "review_shortlist", "answer_invitation", "submit_proposal", "select_proposal", "sign_contract",
    "submit_deliverable", "review_deliverable", "confirm_payment", "rate_expert", "rate_client", "closing",
]  # fmt: skip


async def reached(runs: list[MissionRun], step: str, count: int, within: float = 180.0) -> list[str]:
    """Wait until `count` missions are at `step` or beyond; returns where all the missions stand then."""
    target = STEPS.index(step)

    async def enough() -> bool:
        return sum(STEPS.index(r.step) >= target for r in runs) >= count

    await until(f"{count} missions at {step}", enough, within)
    return sorted(r.step for r in runs)


def start_missions(p: Platform, count: int, client: Party, experts: list[Party]) -> list[MissionRun]:
    """Start `count` missions at once (each expert takes every third), each in its own task."""
    runs = [
        MissionRun(p, client, experts[i % len(experts)], experts, f"faults-{i}-{uuid.uuid4().hex[:6]}")
        for i in range(count)
    ]
    for r in runs:
        r.task = asyncio.create_task(r.run())
    return runs


async def finish(runs: list[MissionRun], within: float) -> None:
    """Wait for every mission to close; fail naming where each unfinished one stood after `within` seconds."""
    tasks = [r.task for r in runs if r.task is not None]
    _, pending = await asyncio.wait(tasks, timeout=within)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    problems = []
    for r in runs:
        assert r.task is not None
        outcome = "timeout" if r.task.cancelled() else (r.task.exception() or r.task.result())
        if outcome != "closed":
            problems.append(f"{r.key} {r.mission_id} at {r.step}: {outcome!r}")
    if problems:
        raise ScenarioError(f"{len(problems)} of {len(runs)} missions did not close:\n" + "\n".join(problems[:10]))


async def run_missions(p: Platform, count: int, client: Party, experts: list[Party], within: float) -> list[MissionRun]:
    runs = start_missions(p, count, client, experts)
    await finish(runs, within)
    return runs


def audit(sessions: sessionmaker[Session], mission_ids: list[str]) -> dict[str, Any]:
    """What a complete mission leaves in SQL, for every mission: nothing missing, nothing twice."""
    ids = [uuid.UUID(m) for m in mission_ids]
    with sessions() as s:
        rows = s.execute(select(MissionRecord.id, MissionRecord.stage).where(MissionRecord.id.in_(ids))).all()
        stages: dict[uuid.UUID, str] = {row[0]: row[1] for row in rows}
        assert len(stages) == len(ids), f"{len(ids) - len(stages)} missions missing from the read model"
        assert set(stages.values()) == {"closed"}, Counter(stages.values())

        contracts = Counter(s.scalars(select(ContractRecord.mission_id).where(ContractRecord.mission_id.in_(ids))))
        assert contracts == Counter(ids), "one contract per mission"

        invoices = s.execute(
            select(InvoiceRecord.mission_id, InvoiceRecord.idempotency_key, InvoiceRecord.document_id).where(
                InvoiceRecord.mission_id.in_(ids), InvoiceRecord.kind == "mission_invoice"
            )
        ).all()
        per_mission = Counter(m for m, _, _ in invoices)
        assert per_mission == Counter({m: 2 for m in ids}), f"one invoice per milestone: {per_mission}"
        assert all(doc is not None for _, _, doc in invoices), "every invoice has its PDF"

        # Invoice numbers: one continuous series per seller (every series on this database, fees included).
        series: dict[str, list[int]] = defaultdict(list)
        for name, sequence in s.execute(select(InvoiceRecord.series, InvoiceRecord.sequence)):
            series[name].append(sequence)
        for name, sequences in series.items():
            assert sorted(sequences) == list(range(1, len(sequences) + 1)), f"gap or duplicate in {name}: {sequences}"

        milestones = Counter(s.scalars(select(MissionMilestone.mission_id).where(MissionMilestone.mission_id.in_(ids))))
        assert milestones == Counter({m: 2 for m in ids}), milestones

        # Documents: the same set per mission (contract chain of 4, 2 invoices, 2 deliverables), none twice.
        docs = s.execute(
            select(DocumentRecord.mission_id, DocumentRecord.kind, DocumentRecord.stage, func.count())
            .where(DocumentRecord.mission_id.in_(ids), DocumentRecord.stage != "refused")
            .group_by(DocumentRecord.mission_id, DocumentRecord.kind, DocumentRecord.stage)
        ).all()
        shapes: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
        for mission, kind, stage, count in docs:
            # a deliverable whose upload answer was lost (503) stays "uploaded": the same, listed, document
            name = "deliverable" if kind == "deliverable" and stage in ("uploaded", "submitted") else f"{kind}/{stage}"
            shapes[mission][name] = shapes[mission].get(name, 0) + count
        distinct = {tuple(sorted(v.items())) for v in shapes.values()}
        assert len(shapes) == len(ids) and len(distinct) == 1, f"documents differ between missions: {distinct}"

        # Timeline: per workflow, sequence numbers 1..n with no gap (nothing lost) and no repeat (nothing twice),
        # and the same kinds of events for every mission.
        seqs: dict[str, list[int]] = defaultdict(list)
        kinds: dict[uuid.UUID, Counter[str]] = defaultdict(Counter)
        for wf, seq, mission, kind in s.execute(
            select(TimelineEvent.workflow_id, TimelineEvent.seq, TimelineEvent.mission_id, TimelineEvent.kind).where(
                TimelineEvent.mission_id.in_(ids)
            )
        ):
            seqs[wf].append(seq)
            kinds[mission][kind] += 1
        for wf, values in seqs.items():
            assert sorted(values) == list(range(1, len(values) + 1)), f"timeline of {wf}: {sorted(values)}"
        timeline_shapes = {tuple(sorted(c.items())) for c in kinds.values()}
        assert len(timeline_shapes) == 1, f"timelines differ between missions: {timeline_shapes}"

        # Tasks: the same inbox history per mission, all of them closed at the end.
        task_rows = s.execute(
            select(Task.mission_id, Task.action, Task.closed_at).where(Task.mission_id.in_(ids))
        ).all()
        open_tasks = [(m, a) for m, a, closed in task_rows if closed is None]
        assert not open_tasks, f"tasks left open: {open_tasks[:5]}"
        task_kinds: dict[uuid.UUID, Counter[str]] = defaultdict(Counter)
        for m, a, _ in task_rows:
            task_kinds[m][a] += 1
        task_shapes = {tuple(sorted(c.items())) for c in task_kinds.values()}
        assert len(task_shapes) == 1, f"tasks differ between missions: {task_shapes}"
    return {
        "missions": len(ids),
        "documents_per_mission": dict(next(iter(shapes.values()))),
        "timeline_events_per_mission": sum(next(iter(kinds.values())).values()),
        "tasks_per_mission": sum(next(iter(task_kinds.values())).values()),
        "invoice_series": {k: len(v) for k, v in series.items()},
    }
