"""The real stack for browser tests: a Temporal dev server, a worker with the real activities, the API app with
the portal under uvicorn (all in one background thread with its own event loop), an SMTP catcher (aiosmtpd, as
`innot dev` starts) whose Maildir the development mailbox `/dev/mailbox` shows, and Debian's Chromium driven by
Playwright's sync API."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from fastapi.staticfiles import StaticFiles
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from pwdlib import PasswordHash
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.documents import DocumentActivities
from activities.matching import MatchingActivities
from activities.readmodel import ReadModelActivities
from api.account_mail import Outbox
from api.app import create_app
from api.routers import devmail
from api.security import hash_password
from api.web.routes import STATIC_DIR
from api.web.routes import router as web_router
from cli.demo import PASSWORD as DEMO_PASSWORD
from cli.demo import Demo, Party, _login, enrol_second_factor, pay_fees
from config.settings import ROOT, Settings
from config.temporal import connect
from documents.rendering import Renderer
from documents.store import open_document_store
from store import accounts
from store.db import make_session_factory
from store.models.community import Expert, Membership, Organisation, User
from tests.api.live import Competition, register_competition, to_contract
from tests.conftest import start_dev_server
from workflows import ALL_WORKFLOWS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "var" / "screenshots"
PASSWORD = "Sturdy-Passw0rd!"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _activities(*objects: object) -> list[Callable[..., Any]]:
    """Every @activity.defn method of these activity objects."""
    found: list[Callable[..., Any]] = []
    for obj in objects:
        for name in dir(type(obj)):
            if hasattr(getattr(type(obj), name), "__temporal_activity_definition"):
                found.append(getattr(obj, name))
    return found


def _workers(client: Client, settings: Settings, factory: sessionmaker[Session]) -> list[Worker]:
    """The lead's `worker.build_workers` when it is importable, else the same wiring built here."""
    try:
        from worker import build_workers

        return build_workers(client, settings)
    except ImportError:
        pass
    missions = _activities(ReadModelActivities(factory), MatchingActivities(factory, settings))
    documents = DocumentActivities(factory, open_document_store(settings.document_store), Renderer(), settings)
    return [
        Worker(
            client,
            task_queue=settings.task_queue,
            workflows=ALL_WORKFLOWS,
            activities=missions,
            activity_executor=ThreadPoolExecutor(max_workers=8),
        ),
        Worker(
            client,
            task_queue=settings.documents_task_queue,
            activities=_activities(documents),
            activity_executor=ThreadPoolExecutor(max_workers=2),
        ),
    ]


@dataclass
class Stack:
    base_url: str
    settings: Settings
    sessions: sessionmaker[Session]
    outbox: Outbox  # every account e-mail the portal sent (verification, password reset): a person's mailbox


class _Server(threading.Thread):
    def __init__(self, settings: Settings, engine: Engine, port: int) -> None:
        super().__init__(name="web-stack", daemon=True)
        self.settings, self.engine, self.port = settings, engine, port
        self.outbox = Outbox()
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by the fixture, not as an unhandled thread exception
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        env = await start_dev_server()
        try:
            client = await connect(self.settings, address=env.client.service_client.config.target_host)
            workers = _workers(client, self.settings, make_session_factory(self.engine))
            app = create_app(self.settings, engine=self.engine, temporal=client)
            app.state.owns_engine = False
            app.include_router(devmail.router)  # mounted in development only by create_app; the mailbox people read
            self.outbox.inner, app.state.mailer = app.state.mailer, self.outbox
            app.include_router(web_router)
            app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
            server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
            running = [asyncio.create_task(w.run()) for w in workers]
            serving = asyncio.create_task(server.serve())
            while not server.started:
                if serving.done():
                    serving.result()
                await asyncio.sleep(0.05)
            self.ready.set()
            await self._stopping.wait()
            server.should_exit = True
            await serving
            await asyncio.gather(*(w.shutdown() for w in workers))
            await asyncio.gather(*running, return_exceptions=True)
        finally:
            await env.shutdown()

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self.join(timeout=60)


@pytest.fixture(scope="session")
def stack(
    engine: Engine, session_factory: sessionmaker[Session], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    var = tmp_path_factory.mktemp("web")
    suffix = uuid.uuid4().hex[:8]
    port, smtp_port = _free_port(), _free_port()
    catcher = Controller(Mailbox(var / "mailbox"), hostname="127.0.0.1", port=smtp_port)
    catcher.start()
    settings = Settings(
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        dev_mailbox=var / "mailbox",
        public_url=f"http://127.0.0.1:{port}",
        environment="test",
        database_url=str(engine.url.render_as_string(hide_password=False)),
        task_queue=f"web-missions-{suffix}",
        documents_task_queue=f"web-documents-{suffix}",
        document_store=f"file://{var / 'documents'}",
        keys_dir=var / "keys",
    )
    server = _Server(settings, engine, port)
    server.start()
    if not server.ready.wait(timeout=120) or server.error is not None:
        server.stop()
        raise RuntimeError(f"the web stack did not start: {server.error!r}")
    yield Stack(base_url=f"http://127.0.0.1:{port}", settings=settings, sessions=session_factory, outbox=server.outbox)
    server.stop()
    catcher.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        pw: Playwright = playwright
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def new_context(browser: Browser, stack: Stack) -> Iterator[Callable[..., BrowserContext]]:
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(base_url=stack.base_url, accept_downloads=True, **options)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


def activate(sessions: sessionmaker[Session], email: str) -> None:
    """What the membership workflow does once the member is vetted and its fee paid: the member may open or accept
    missions. These tests' needs go straight to matching (no qualification by ops)."""
    with sessions() as s, s.begin():
        user = s.scalars(select(User).where(User.email == email.lower())).one()
        member_id = user.organisation_id or user.expert_id
        s.execute(
            update(Membership)
            .where(Membership.member_id == member_id)
            .values(status="active", onboarding_status="approved", onboarding_due_at=None)
        )
        if user.organisation_id:
            s.execute(update(Organisation).where(Organisation.id == user.organisation_id).values(
                qualification_required=False))  # fmt: skip
        if user.expert_id:
            s.execute(update(Expert).where(Expert.id == user.expert_id).values(membership_active=True))


def create_ops_user(sessions: sessionmaker[Session]) -> str:
    email = unique_email("ops")
    with sessions() as s, s.begin():
        accounts.create_user(
            s, email=email, full_name="Olivia Ops", password_hash=PasswordHash.recommended().hash(PASSWORD), role="ops"
        )
    return email


async def contract_through_the_api(stack: Stack, api: httpx.AsyncClient, var: Path) -> tuple[Demo, Competition]:
    """Through the HTTP API, as `innot demo` does: an enrolled ops account confirms the fees of a client and its
    candidates (tests.api.live.register_competition); the client's mission is at its contract stage, the first
    candidate selected."""
    tag = uuid.uuid4().hex[:8]
    ops = Party(f"ops.api.{tag}@ops.example")
    with stack.sessions() as s, s.begin():
        accounts.create_user(
            s, email=ops.email, full_name="Api Ops", password_hash=await hash_password(DEMO_PASSWORD), role="ops"
        )
    await _login(api, ops)
    await enrol_second_factor(api, ops)
    competition = await register_competition(api, tag, stack.outbox)
    await pay_fees(api, ops, [competition.client, *competition.experts, competition.removed])
    demo = Demo(api, console=None, out=var)  # type: ignore[arg-type]
    await to_contract(demo, competition)
    return demo, competition
