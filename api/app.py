"""The FastAPI application: one app serving the JSON API for clients, experts and ops, and the portal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from temporalio.client import Client

from api import errors, metrics
from api.account_mail import mailer_of
from api.guards import RefuseNulCharacters
from api.routers import (
    account,
    auth,
    clients,
    codec,
    devmail,
    directory,
    disputes,
    experts,
    health,
    memberships,
    messages,
    mission_documents,
    missions,
    notifications,
    onboarding,
    ops,
    ops_missions,
    ops_repair,
    org,
    privacy,
    public,
    two_factor,
)
from api.web.routes import STATIC_DIR
from api.web.routes import router as web_router
from config.codec import EncryptionCodec
from config.crypto import DataCipher
from config.settings import Settings, get_settings
from config.temporal import connect
from documents.store import open_document_store
from store.db import make_engine, make_session_factory
from store.missions import InboxCache

log = structlog.get_logger(__name__)

DESCRIPTION = """
innot runs a private consulting marketplace end to end. Client organisations post needs, vetted experts
answer, and durable workflows carry every mission from the need to the feedback. **No commission is ever
taken on a deal**: the platform lives on the two communities' registration fees.

Authenticate with `POST /auth/login`, then send `Authorization: Bearer <access_token>`.
"""


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, temporal: Client | None = None
) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    lock = asyncio.Lock()

    async def connect_temporal() -> Client | None:
        """Connect once, lazily: the API serves what it can while Temporal is down, and reconnects."""
        async with lock:
            if app.state.temporal is None:
                try:
                    app.state.temporal = await asyncio.wait_for(connect(settings), timeout=5)
                except Exception as exc:
                    log.warning("temporal unreachable", error=str(exc)[:200])
            client: Client | None = app.state.temporal
            return client

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if app.state.temporal is None:
            await connect_temporal()
        yield
        if app.state.owns_engine:
            engine.dispose()

    app = FastAPI(
        title="innot",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "auth", "description": "registration of both communities, login, tokens"},
            {"name": "missions", "description": "needs, shortlists, proposals, contracts, delivery, feedback"},
            {"name": "clients", "description": "members of a client organisation"},
            {"name": "experts", "description": "independent experts"},
            {"name": "ops", "description": "platform staff; every action is audited"},
            {"name": "messages", "description": "private, encrypted conversations inside a mission"},
            {"name": "notifications", "description": "what the platform told me, and how I want to be e-mailed"},
            {"name": "public", "description": "the transparency ledger: fees, contracts, commission 0.00"},
            {"name": "health", "description": "liveness of the database and Temporal"},
        ],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.inbox_cache = InboxCache()
    app.state.owns_engine = True
    app.state.session_factory = make_session_factory(engine)
    app.state.temporal = temporal
    app.state.cipher = DataCipher.from_settings(settings)
    app.state.payload_codec = EncryptionCodec(app.state.cipher)
    app.state.document_store = open_document_store(settings.document_store)
    app.state.connect_temporal = connect_temporal
    app.state.mailer = mailer_of(settings)  # account e-mails (verification, password reset)
    errors.install(app)
    app.add_middleware(RefuseNulCharacters)
    metrics.install(app, app.state.session_factory, settings.metrics_token)
    # The Temporal Web UI calls the codec server from the browser, with the ops user's token.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[
            f"http://127.0.0.1:{settings.temporal_ui_port}",
            f"http://localhost:{settings.temporal_ui_port}",
        ],
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Namespace"],
        allow_credentials=True,
    )
    accounts = (auth, account, two_factor)
    parties = (missions, mission_documents, disputes, messages, notifications)
    people = (clients, org, experts, directory, memberships)
    routers = (health, *accounts, *parties, *people, onboarding, privacy, ops, ops_missions, ops_repair)
    for module in (*routers, codec, public):
        app.include_router(module.router)
    if settings.environment == "development":  # the development mail catcher's mailbox; never in production
        app.include_router(devmail.router)
    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
