"""The Temporal worker: registers every workflow and activity, on two task queues.

- ``settings.task_queue``: workflows, the read-model writes (local activities), membership terms, matching.
- ``settings.documents_task_queue``: PDF rendering, Factur-X, signatures — CPU-heavy work on its own queue (and
  its own thread pool), so that rendering never delays workflow tasks. Scale either by running more workers.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.documents import DocumentActivities
from activities.mail import SmtpServer, Writer
from activities.matching import MatchingActivities
from activities.membership import MembershipActivities
from activities.notify import NotifyActivities
from activities.readmodel import ReadModelActivities
from config.observability import configure_logging, temporal_runtime
from config.settings import Settings, get_settings
from config.temporal import connect, workflow_runner
from documents.rendering import Renderer
from documents.store import open_document_store
from store.db import make_session_factory, shared_engine
from workflows import ALL_WORKFLOWS
from workflows.digest import ensure_digest_schedule
from workflows.exposure import ensure_exposure_schedule

log = structlog.get_logger(__name__)


def notify_activities(factory: sessionmaker[Session], settings: Settings) -> NotifyActivities:
    server = SmtpServer.from_url(settings.smtp_url) if settings.smtp_url else None
    return NotifyActivities(factory, Writer(settings.mail_from), server, settings.public_url)


def mission_activities(settings: Settings) -> list[Callable[..., Any]]:
    factory = make_session_factory(shared_engine(settings.database_url))
    matching = MatchingActivities(factory, settings)
    return [
        ReadModelActivities(factory).write_read_model,
        *notify_activities(factory, settings).all(),
        MembershipActivities(factory, settings).start_membership_term,
        matching.shortlist_experts,
        matching.record_shortlist_exposure,
        matching.refresh_exposure_window,
    ]


def document_activities(settings: Settings) -> list[Callable[..., Any]]:
    factory = make_session_factory(shared_engine(settings.database_url))
    docs = DocumentActivities(factory, open_document_store(settings.document_store), Renderer(), settings)
    docs.warm_up()
    return docs.all()


def build_workers(client: Client, settings: Settings, *, queues: str = "all") -> list[Worker]:
    """Workers for the requested queues ('all', 'missions' or 'documents')."""
    workers: list[Worker] = []
    if queues in ("all", "missions"):
        workers.append(
            Worker(
                client,
                task_queue=settings.task_queue,
                workflows=ALL_WORKFLOWS,
                workflow_runner=workflow_runner(sandboxed=settings.workflow_sandbox),
                activities=mission_activities(settings),
                activity_executor=ThreadPoolExecutor(max_workers=16),
                graceful_shutdown_timeout=timedelta(seconds=20),
            )
        )
    if queues in ("all", "documents"):
        workers.append(
            Worker(
                client,
                task_queue=settings.documents_task_queue,
                activities=document_activities(settings),
                activity_executor=ThreadPoolExecutor(max_workers=4),
                max_concurrent_activities=4,
                graceful_shutdown_timeout=timedelta(seconds=60),
            )
        )
    return workers


async def run(settings: Settings | None = None, *, queues: str = "all") -> None:
    settings = settings or get_settings()
    configure_logging(settings)
    client = await connect(settings, runtime=temporal_runtime(settings))
    workers = build_workers(client, settings, queues=queues)
    if queues in ("all", "missions"):
        await ensure_digest_schedule(client, settings.task_queue)
        await ensure_exposure_schedule(client, settings.task_queue)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker started", task_queues=[w.task_queue for w in workers], namespace=settings.temporal_namespace)
    tasks = [asyncio.create_task(w.run()) for w in workers]
    await stop.wait()
    log.info("worker stopping: finishing running activities")
    await asyncio.gather(*(w.shutdown() for w in workers))
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(run())
