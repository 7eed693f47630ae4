"""A real mission for API tests that need real data: the app in process on the Temporal dev server, with
in-process workers (as `innot demo` runs), one shared mission brought to the contract stage through the API (and,
for the authorization matrix, through the first milestone's invoice).

Parties: client A (the mission's organisation), client B (another organisation), the selected expert (invited,
proposed, selected), a losing candidate (invited, proposed, not selected; a second one proposed too), an expert
removed from the shortlist by the client before the invitations, an unrelated expert (never shortlisted), and ops.
Each candidate's proposal has its own price and milestone titles, so that a view showing another's can be told.
`live_mission` (tests/api/conftest.py) builds it once per test process for every module.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from api.account_mail import Outbox
from api.app import create_app
from api.security import hash_password
from api.web.pickers import PICKERS
from cli.demo import (
    PASSWORD,
    SKILLS,
    Demo,
    Party,
    _login,
    _ok,
    _until,
    enrol_second_factor,
    need,
    open_account,
    pay_fees,
    proposal,
    register_parties,
)
from config.settings import Settings
from config.temporal import connect
from store import accounts
from store.db import transaction
from store.models.legal import DocumentRecord, InvoiceRecord
from tests.api.conftest import expert_registration
from worker import build_workers


@dataclass
class LiveMission:
    """The shared mission, its parties (with bearer headers and access tokens) and the app serving it."""

    app: FastAPI
    api: httpx.AsyncClient
    settings: Settings
    mission_id: str
    parties: dict[str, Party]
    tokens: dict[str, str]
    document_id: str
    fee_invoice: str
    extra: dict[str, Any] = field(default_factory=dict)


async def _register_unrelated(api: httpx.AsyncClient, tag: str, outbox: Outbox) -> tuple[Party, Party]:
    """A client of another organisation and an expert no need of the mission matches (German, HR)."""
    client_b = Party(f"bob.{tag}@other-client.example")
    org = {
        "legal_name": "Autre Société SA",
        "legal_form": "SA",
        "siret": "73282932000074",
        "vat_number": "FR44732829320",
        "billing_email": "compta@other-client.example",
        "address_line": "3 rue de la Paix",
        "postcode": "75002",
        "city": "Paris",
        "country": "FR",
    }
    account = {"email": client_b.email, "full_name": "Bob Autre", "password": PASSWORD}
    reg = await _ok(api.post("/auth/register/client", json={"account": account, "organisation": org}), 201)
    client_b.member_id = reg["member_id"]
    stranger = Party(f"hans.{tag}@other-expert.example")
    # French, like the conftest expert, but speaking only German: the need (French and Japanese) excludes him.
    payload = expert_registration(stranger.email, display_name="Hans Fremd", languages=["de"])
    payload["account"]["password"] = PASSWORD
    reg = await _ok(api.post("/auth/register/expert", json=payload), 201)
    stranger.member_id = reg["member_id"]
    for party in (client_b, stranger):
        await open_account(api, party, outbox)
    return client_b, stranger


async def join_colleague(api: httpx.AsyncClient, admin: Party, email: str, role: str, outbox: Outbox) -> Party:
    """The admin invites a colleague with this role; the colleague follows the e-mailed link, opens the account (its
    address verified by the act), logs in and enrols a second factor."""
    colleague = Party(email)
    body = {"email": email, "full_name": f"{role.title()} Colleague", "role": role}
    await _ok(api.post("/org/members", json=body, headers=admin.headers), 202)
    link = urlsplit(outbox.link(email, "org_invitation"))
    await _ok(api.post("/org/join", json={"token": parse_qs(link.query)["token"][0], "password": PASSWORD}))
    await _login(api, colleague)
    await enrol_second_factor(api, colleague)
    me = await _ok(api.get("/auth/me", headers=colleague.headers))
    colleague.member_id = me["id"]
    return colleague


# Real ISO 639-1 codes that neither the seeded directory (store.seed) nor another test's expert speaks: each
# competition built in a test process takes the next one, so that its need matches its own experts only (the builds
# and the seeded directories of a process share its database, and matching keeps the top five of the directory).
_OWN_LANGUAGES = itertools.cycle(
    ("cs", "hu", "ro", "el", "tr", "ko", "he", "th", "vi", "uk", "bg", "hr", "sk", "sl", "lt", "lv", "et", "fi")
)


@dataclass
class Competition:
    """A client organisation, three candidates (register_parties: Jean Dupont, Aiko Bernard, Marc Leroy) and one
    more expert the client will remove from the shortlist, all speaking `languages`, which the need requires."""

    client: Party
    experts: list[Party]
    removed: Party
    languages: list[str]


async def register_competition(api: httpx.AsyncClient, tag: str, outbox: Outbox) -> Competition:
    client, experts = await register_parties(api, tag, outbox)
    languages = ["fr", next(_OWN_LANGUAGES)]
    for expert in experts:  # before their fees are paid: matching reloads the directory then
        await _ok(api.patch("/experts/profile", json={"languages": languages}, headers=expert.headers))
    return Competition(client, experts, await register_removed(api, tag, languages, outbox), languages)


async def register_removed(api: httpx.AsyncClient, tag: str, languages: list[str], outbox: Outbox) -> Party:
    """An expert the need matches (its languages, finance), whom the client removes from the shortlist."""
    removed = Party(f"rita.{tag}@removed-expert.example")
    payload = expert_registration(
        removed.email,
        display_name="Rita Retiree",
        legal_name="Rita Retiree Conseil",
        business_functions=["finance"],
        skills=SKILLS,
        languages=languages,
        available_from=date.today().isoformat(),
    )
    payload["account"] |= {"password": PASSWORD, "full_name": "Rita Retiree"}
    removed.member_id = (await _ok(api.post("/auth/register/expert", json=payload), 201))["member_id"]
    await open_account(api, removed, outbox)
    return removed


OFFERS = (("900.00", "Alpha"), ("950.00", "Beta"), ("1000.00", "Gamma"))  # each candidate's rate and titles


def offer(rate: str, label: str) -> dict[str, Any]:
    """The demo's proposal at this rate, its milestones titled after the candidate (`Diagnostic Alpha`...)."""
    body = proposal(rate)
    for milestone in body["terms"]["milestones"]:
        milestone["title"] = f"{milestone['title'].split()[0]} {label}"
    return body


async def to_contract(demo: Demo, competition: Competition) -> None:
    """The demo's first steps: shortlist (one candidate removed), invitations, proposals, selection of the first."""
    client, experts, removed = competition.client, competition.experts, competition.removed
    post = demo.api.post
    wanted = need() | {"languages": competition.languages}
    created = await _ok(post("/missions", json=wanted, headers=client.headers), 201)
    demo.mission_id = created["mission_id"]
    shown = await demo.api.get(f"/missions/{demo.mission_id}", headers=client.headers)
    assert shown.status_code == 200, (
        f"a new mission is on its page at once: its creator opens it next ({shown.status_code} {shown.text[:300]})"
    )
    view = await demo.wait_action(client, "review_shortlist", "the shortlist")
    ours = {e.member_id for e in experts}
    listed = {c["expert_id"] for c in view["shortlist"]}
    assert ours | {removed.member_id} <= listed, "the need's experts are all on the shortlist"
    others = [e for e in listed if e not in ours]  # the removed expert, and any other expert of the directory
    base = f"/missions/{demo.mission_id}"
    await _ok(post(f"{base}/shortlist/remove", json={"remove_expert_ids": others}, headers=client.headers))
    await _ok(post(f"{base}/invitations/start", json={}, headers=client.headers))
    for expert in experts:
        await demo.wait_action(expert, "answer_invitation", "the invitation")
        await _ok(post(f"{base}/invitation/accept", json={}, headers=expert.headers))
    for expert, (rate, label) in zip(experts, OFFERS, strict=True):
        await demo.wait_action(expert, "submit_proposal", "the proposal window")
        await _ok(post(f"{base}/proposal", json=offer(rate, label), headers=expert.headers))
    chosen, loser = experts[0], experts[1]
    thread = f"{base}/threads/{chosen.member_id}/messages"
    await _ok(post(thread, json={"body": "Bonjour"}, headers=client.headers), 201)
    theirs = f"{base}/threads/{loser.member_id}/messages"
    await _ok(post(theirs, json={"body": "Merci pour votre offre"}, headers=client.headers), 201)
    await demo.wait_action(client, "select_proposal", "the proposals to compare")
    await _ok(post(f"{base}/proposals/select", json={"expert_id": chosen.member_id}, headers=client.headers))
    await demo.wait_action(client, "sign_contract", "the contract")


async def to_first_invoice(demo: Demo, client: Party, chosen: Party) -> None:
    """Both sign; the expert delivers the first milestone, the client accepts it: its invoice is issued."""
    post = demo.api.post
    base = f"/missions/{demo.mission_id}"
    for party in (client, chosen):
        view = await demo.wait_action(party, "sign_contract", "the contract")
        sha = view["contract"]["document"]["sha256"]
        body = {"expected_sha256": sha, "otp": party.otp()}  # a signature is confirmed by a fresh code
        await _ok(post(f"{base}/contract/sign", json=body, headers=party.headers))
    await demo.wait_action(chosen, "submit_deliverable", "milestone 1 to deliver", 1)
    files = {"file": ("livrable-1.pdf", b"%PDF-1.4\n% milestone 1\n", "application/pdf")}
    await _ok(post(f"{base}/milestones/1/deliverable", files=files, headers=chosen.headers))
    await demo.wait_action(client, "review_deliverable", "milestone 1 to review", 1)
    await _ok(post(f"{base}/milestones/1/accept", json={}, headers=client.headers))
    await demo.wait_action(client, "confirm_payment", "the invoice of milestone 1", 1)

    async def invoiced() -> bool:  # the read model shows it a few milliseconds after the workflow
        detail = (await demo.api.get(base, headers=client.headers)).json()
        return any(m["invoice_number"] for m in detail["milestones"])

    await _until("the invoice in the read model", invoiced)


@dataclass
class Stack:
    """The app with its own workers and task queues on the dev server, an API client, the outbox of its account
    e-mails and an ops account (enrolled)."""

    app: FastAPI
    api: httpx.AsyncClient
    settings: Settings
    outbox: Outbox
    ops: Party
    tag: str


@asynccontextmanager
async def live_stack(dev_server_env: WorkflowEnvironment, engine: Engine, var: Path) -> AsyncIterator[Stack]:
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        environment="test",
        database_url=engine.url.render_as_string(hide_password=False),
        temporal_address=dev_server_env.client.service_client.config.target_host,
        document_store=f"file://{var / 'documents'}",
        keys_dir=var / "keys",
        task_queue=f"live-{tag}",
        documents_task_queue=f"live-docs-{tag}",
    )
    client = await connect(settings)
    app = create_app(settings, engine=engine, temporal=client)
    app.state.owns_engine = False
    outbox = Outbox.install(app)
    workers = build_workers(client, settings)
    running = [asyncio.create_task(w.run()) for w in workers]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://innot.test", timeout=60) as api:
            ops = Party(f"ops.{tag}@ops.example")
            password_hash = await hash_password(PASSWORD)
            with transaction(app.state.session_factory) as session:
                accounts.create_user(
                    session, email=ops.email, full_name="Olga Ops", password_hash=password_hash, role="ops"
                )
            await _login(api, ops)
            await enrol_second_factor(api, ops)
            yield Stack(app, api, settings, outbox, ops, tag)
    finally:
        await asyncio.gather(*(w.shutdown() for w in workers))
        await asyncio.gather(*running, return_exceptions=True)


@asynccontextmanager
async def build_live_mission(
    dev_server_env: WorkflowEnvironment,
    engine: Engine,
    session_factory: sessionmaker[Session],
    var: Path,
    *,
    through_first_invoice: bool = False,
) -> AsyncIterator[LiveMission]:
    """The app with its own workers and task queues, and a fresh mission at the contract stage (or in delivery,
    its first milestone invoiced)."""
    async with live_stack(dev_server_env, engine, var) as stack:
        api, ops, outbox, tag = stack.api, stack.ops, stack.outbox, stack.tag
        competition = await register_competition(api, tag, outbox)
        client_a, experts = competition.client, competition.experts
        client_b, stranger = await _register_unrelated(api, tag, outbox)
        await pay_fees(api, ops, [client_a, *experts, competition.removed])
        colleagues = {
            role: await join_colleague(api, client_a, f"{role}.{tag}@demo-client.example", role, outbox)
            for role in ("buyer", "approver", "finance")
        }
        demo = Demo(api, console=None, out=var)  # type: ignore[arg-type]
        await to_contract(demo, competition)
        if through_first_invoice:
            await to_first_invoice(demo, client_a, experts[0])
        with session_factory() as session:
            # the matrix downloads the latest document: the first invoice, or the contract
            document = session.scalars(
                select(DocumentRecord)
                .where(DocumentRecord.mission_id == uuid.UUID(demo.mission_id))
                .order_by(DocumentRecord.kind == "mission_invoice", DocumentRecord.created_at)
            ).all()[-1]
            fee = session.scalars(
                select(InvoiceRecord).where(InvoiceRecord.buyer_ref == f"client_organisation:{client_a.member_id}")
            ).first()
        assert document is not None and fee is not None
        parties = {
            "client_a": client_a,
            "client_b": client_b,
            "client_buyer": colleagues["buyer"],
            "client_approver": colleagues["approver"],
            "client_finance": colleagues["finance"],
            "expert_selected": experts[0],
            "expert_losing": experts[1],
            "expert_other": experts[2],
            "expert_removed": competition.removed,
            "expert_unrelated": stranger,
            "ops": ops,
        }
        tokens = {name: p.headers["Authorization"].removeprefix("Bearer ") for name, p in parties.items()}
        yield LiveMission(
            app=stack.app,
            api=api,
            settings=stack.settings,
            mission_id=demo.mission_id,
            parties=parties,
            tokens=tokens,
            document_id=str(document.id),
            fee_invoice=fee.number,
            extra={"other_experts": experts[1:]},
        )


LOSER, REMOVED = "expert_losing", "expert_removed"
# the experts' display names (register_parties, register_removed), by their place in the shared mission
NAMES = {"expert_selected": "Jean Dupont", LOSER: "Aiko Bernard", "expert_other": "Marc Leroy", REMOVED: "Rita Retiree"}


async def secrets_of(api: httpx.AsyncClient, mission_id: str, parties: dict[str, Party]) -> dict[str, set[str]]:
    """What the losing candidate and the removed expert must never read, taken from what the mission's client sees
    (everything): every other expert's id, name, price, milestone titles and amounts; the contract's invoice
    numbers, document hashes and messages; for the removed expert, also the mission itself and its client.
    `parties`: the client (client_a) and the experts, by their place (NAMES)."""
    client = parties["client_a"].headers
    base = f"/missions/{mission_id}"
    state = (await api.get(f"{base}/state", headers=client)).json()
    detail = (await api.get(base, headers=client)).json()
    documents = (await api.get(f"{base}/documents", headers=client)).json()

    def of_expert(place: str) -> set[str]:
        expert_id = parties[place].member_id
        told = {expert_id, NAMES[place]}
        for p in (p for p in state["proposals"] if p["expert_id"] == expert_id):
            amounts = [str(p["total"]["amount"]), *(str(m["amount"]) for m in p["terms"]["milestones"])]
            # as the API writes them, and as the portal shows them to a reader of either language
            told |= {*amounts, *(PICKERS[lang].money(a, p["terms"]["currency"]) for a in amounts for lang in PICKERS)}
            told |= {m["title"] for m in p["terms"]["milestones"]}
        return told

    contract = {m["invoice_number"] for m in detail["milestones"] if m["invoice_number"]}
    contract |= {d["sha256"] for d in documents} | {"Bonjour"}
    assert len(contract) >= 4, "the invoice number, the contract's and the deliverable's hashes, the message"
    assert len(state["proposals"]) == 3 and state["removed_expert_ids"]
    mission = {mission_id, state["need"]["title"], "Démo Industrie SAS"}

    def of_others(role: str) -> set[str]:
        return {t for place in NAMES if place != role for t in of_expert(place)}

    return {LOSER: contract | of_others(LOSER), REMOVED: contract | mission | of_others(REMOVED)}


async def secrets(live: LiveMission) -> dict[str, set[str]]:
    """`secrets_of` the shared mission (read once)."""
    if "secrets" not in live.extra:
        live.extra["secrets"] = await secrets_of(live.api, live.mission_id, live.parties)
    found: dict[str, set[str]] = live.extra["secrets"]
    return found
