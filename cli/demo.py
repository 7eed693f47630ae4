"""`innot demo`: one complete mission (two milestones), driven through the HTTP API exactly as people would.

A client organisation and three experts register, ops confirm their registration fees (MembershipWorkflow), the
client posts a need, keeps the three experts on the shortlist and invites them, they accept and propose, the
client selects one, both sign, the expert delivers two milestones, the client accepts them and confirms the
payments, both rate. Every step is an API call (the in-process app, through httpx), so the demo exercises the
same validators, workflows and activities as real users. The documents produced are written to ``--out``.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from rich.console import Console

# what the tests, the benchmarks and the fault scenarios take from `cli.demo`
from cli.demo_http import PASSWORD as PASSWORD
from cli.demo_http import DemoError as DemoError
from cli.demo_http import Party as Party
from cli.demo_http import _login as _login
from cli.demo_http import _ok as _ok
from cli.demo_http import _until as _until
from cli.demo_http import enrol_second_factor as enrol_second_factor
from cli.demo_http import open_account as open_account
from cli.demo_parties import LANGUAGES as LANGUAGES
from cli.demo_parties import SKILLS as SKILLS
from cli.demo_parties import need as need
from cli.demo_parties import pay_fees as pay_fees
from cli.demo_parties import proposal as proposal
from cli.demo_parties import register_parties as register_parties
from config.settings import Settings

if TYPE_CHECKING:
    from api.account_mail import Outbox

DEMO_MESSAGE = "Pouvons-nous caler le lancement lundi à 9 h ? Budget confidentiel : 9 000 EUR."


class Demo:
    def __init__(self, api: httpx.AsyncClient, console: Console, out: Path) -> None:
        self.api, self.console, self.out = api, console, out
        self.mission_id = ""
        self.printed = 0

    async def state(self, party: Party) -> dict[str, Any]:
        answer: dict[str, Any] = await _ok(self.api.get(f"/missions/{self.mission_id}/state", headers=party.headers))
        return answer

    async def wait_action(self, party: Party, action: str, what: str, milestone: int | None = None) -> dict[str, Any]:
        """Wait until the party's inbox (the read model, as a person sees it) holds this task; then the state."""
        workflow = f"mission:{self.mission_id}" + (f":milestone:{milestone}" if milestone else "")

        async def in_inbox() -> bool:
            tasks = (await self.api.get("/tasks", headers=party.headers)).json()
            return any(t["action"] == action and t["workflow_id"] == workflow for t in tasks)

        await _until(what, in_inbox)
        return await self.state(party)

    async def timeline(self, party: Party) -> None:
        detail = await _ok(self.api.get(f"/missions/{self.mission_id}", headers=party.headers))
        for event in detail["timeline"][self.printed :]:
            what = event["kind"].replace("_", " ")
            self.console.print(
                f"  [dim]{event['at'][11:19]}[/dim] [bold]{event['stage']:<12}[/bold] {what}: {event['summary']}"
            )
        self.printed = len(detail["timeline"])

    async def run(self, client: Party, experts: list[Party]) -> str:
        post = self.api.post
        created = await _ok(post("/missions", json=need(), headers=client.headers | {"Idempotency-Key": "demo"}), 201)
        self.mission_id = created["mission_id"]
        self.console.print(f"[bold]Mission {self.mission_id}[/bold] ({created['workflow_id']})")
        view = await self.wait_action(client, "review_shortlist", "the shortlist")
        await self.timeline(client)
        ours = {e.member_id for e in experts}
        others = [c["expert_id"] for c in view["shortlist"] if c["expert_id"] not in ours]
        if others:
            await _ok(
                post(
                    f"/missions/{self.mission_id}/shortlist/remove",
                    json={"remove_expert_ids": others},
                    headers=client.headers,
                )
            )
        await _ok(post(f"/missions/{self.mission_id}/invitations/start", json={}, headers=client.headers))
        for expert in experts:
            await self.wait_action(expert, "answer_invitation", "the invitation")
            await _ok(post(f"/missions/{self.mission_id}/invitation/accept", json={}, headers=expert.headers))
        for expert, rate in zip(experts, ("900.00", "950.00", "1000.00"), strict=True):
            await self.wait_action(expert, "submit_proposal", "the proposal window")
            await _ok(post(f"/missions/{self.mission_id}/proposal", json=proposal(rate), headers=expert.headers))
        await self.timeline(client)
        chosen = experts[0]
        thread = f"/missions/{self.mission_id}/threads/{chosen.member_id}/messages"
        await _ok(post(thread, json={"body": DEMO_MESSAGE}, headers=client.headers), 201)
        await _ok(post(thread, json={"body": "Oui, lundi 9 h me convient."}, headers=chosen.headers), 201)
        await self.wait_action(client, "select_proposal", "the proposals to compare")
        await _ok(
            post(
                f"/missions/{self.mission_id}/proposals/select",
                json={"expert_id": chosen.member_id},
                headers=client.headers,
            )
        )
        for party in (client, chosen):
            view = await self.wait_action(party, "sign_contract", "the contract")
            sha = view["contract"]["document"]["sha256"]
            body = {"expected_sha256": sha, "otp": party.otp()}
            await _ok(post(f"/missions/{self.mission_id}/contract/sign", json=body, headers=party.headers))
        await self.timeline(client)
        for number in (1, 2):
            await self._deliver(client, chosen, number)
        for party in (client, chosen):
            await self.wait_action(party, "rate_expert" if party is client else "rate_client", "the feedback window")
            await _ok(
                post(
                    f"/missions/{self.mission_id}/rating",
                    json={"score": 5, "comment": "Excellent travail"},
                    headers=party.headers,
                )
            )

        async def closed() -> str | None:
            # as a person sees it: the read model, which follows the workflow's answer by a few milliseconds (the
            # workers stop when the demo ends: a stage read from the workflow alone could leave its last writes
            # queued for the next worker)
            detail = await _ok(self.api.get(f"/missions/{self.mission_id}", headers=client.headers))
            stage = str(detail["mission"]["stage"])
            return stage if stage in ("closed", "cancelled", "needs_attention") else None

        stage: str = await _until("the mission to close", closed)
        await self.timeline(client)
        await self._save_documents(client)
        await self.told([("client", client), *((f"expert {i + 1}", e) for i, e in enumerate(experts))])
        return stage

    async def told(self, parties: list[tuple[str, Party]]) -> None:
        """What each party was told along the way: the notices in their portal feed, and the e-mails sent."""
        self.console.print("[bold]What each party was told[/bold] (portal feed, e-mails sent):")
        for name, party in parties:
            feed = await _ok(self.api.get("/notifications?limit=200", headers=party.headers))
            emailed = sum(1 for n in feed["items"] if n["email"] == "sent")
            self.console.print(f"  {name} <{party.email}>: {len(feed['items'])} notices, {emailed} e-mails")

    async def _deliver(self, client: Party, expert: Party, number: int) -> None:
        post = self.api.post
        await self.wait_action(expert, "submit_deliverable", f"milestone {number} to deliver", number)
        body = f"%PDF-1.4\n% innot demo deliverable, milestone {number}\n".encode()
        files = {"file": (f"livrable-{number}.pdf", body, "application/pdf")}
        await _ok(
            post(f"/missions/{self.mission_id}/milestones/{number}/deliverable", files=files, headers=expert.headers)
        )
        await self.wait_action(client, "review_deliverable", f"milestone {number} to review", number)
        await _ok(post(f"/missions/{self.mission_id}/milestones/{number}/accept", json={}, headers=client.headers))
        await self.wait_action(client, "confirm_payment", f"the invoice of milestone {number}", number)
        await _ok(
            post(
                f"/missions/{self.mission_id}/milestones/{number}/payment",
                json={"paid_on": date.today().isoformat(), "reference": f"VIR-{number}"},
                headers=client.headers,
            )
        )
        await self.timeline(client)

    async def _save_documents(self, client: Party) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        documents = await _ok(self.api.get(f"/missions/{self.mission_id}/documents", headers=client.headers))
        for doc in documents:
            if doc["kind"] == "deliverable" or (doc["kind"] == "contract" and doc["stage"] != "sealed"):
                continue  # the contract is written once: its final, sealed version
            data = await self.api.get(f"/missions/{self.mission_id}/documents/{doc['id']}", headers=client.headers)
            name = f"{doc['kind']}-{doc['number'] or doc['stage']}-{doc['id'][:8]}.pdf"
            (self.out / name).write_bytes(data.content)
            self.console.print(f"  wrote {self.out / name} ({len(data.content):,} bytes)")


async def run_demo(api: httpx.AsyncClient, console: Console, out: Path, ops: Party, outbox: Outbox) -> str:
    tag = uuid.uuid4().hex[:8]
    console.print("[bold]Registering a client organisation and three experts...[/bold]")
    client, experts = await register_parties(api, tag, outbox)
    console.print("Ops confirm the registration fees (fee invoices issued by the membership workflows)...")
    await pay_fees(api, ops, [client, *experts])
    console.print("[bold]The mission, stage by stage:[/bold]")
    return await Demo(api, console, out).run(client, experts)


async def demo_main(settings: Settings, console: Console, out: Path) -> str:
    """Run the demo against the Temporal server in the settings (or on 127.0.0.1:7233 when one listens there), or
    an embedded dev server started for the occasion; with in-process workers and the API app in process."""
    from temporalio.testing import WorkflowEnvironment

    from api.account_mail import Outbox
    from api.app import create_app
    from api.security import hash_password
    from cli.dev import port_busy, temporal_binary
    from config.temporal import connect
    from store import accounts
    from store.db import make_engine, make_session_factory, transaction
    from store.migrate import upgrade
    from worker import build_workers
    from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

    upgrade(settings.database_url)
    env = None
    address = settings.temporal_address or ("127.0.0.1:7233" if port_busy(7233) else None)
    if address is None:
        console.print("No Temporal server running: starting an embedded dev server for the demo...")
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_binary(), search_attributes=list(SEARCH_ATTRIBUTES), ui=False
        )
        address = env.client.service_client.config.target_host
    try:
        client = await connect(settings, address=address)
        engine = make_engine(settings.database_url)
        ops = Party(f"ops.{uuid.uuid4().hex[:8]}@demo-ops.example")
        password_hash = await hash_password(PASSWORD)
        with transaction(make_session_factory(engine)) as session:
            accounts.create_user(
                session, email=ops.email, full_name="Olivia Ops", password_hash=password_hash, role="ops"
            )
        app = create_app(settings, engine=engine, temporal=client)
        workers = build_workers(client, settings)
        running = [asyncio.create_task(w.run()) for w in workers]
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://innot.demo", timeout=60) as api:
                await _login(api, ops)
                await enrol_second_factor(api, ops)
                return await run_demo(api, console, out, ops, Outbox.install(app))
        finally:
            await asyncio.gather(*(w.shutdown() for w in workers))
            await asyncio.gather(*running, return_exceptions=True)
            engine.dispose()
    finally:
        if env is not None:
            await env.shutdown()
