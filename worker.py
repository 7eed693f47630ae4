"""The Temporal worker: registers every workflow and activity, on two task queues.

- ``settings.task_queue``: workflows, read-model projections, notifications, matching.
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
from temporalio.client import Client
from temporalio.worker import Worker

from activities.documents import DocumentActivities
from activities.heartbeat import AutoHeartbeat
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

log = structlog.get_logger(__name__)


def mission_activities(settings: Settings) -> list[Callable[..., Any]]:
    factory = make_session_factory(shared_engine(settings.database_url))
    matching = MatchingActivities(factory, settings)
    return [
        *ReadModelActivities(factory).all(),
        *NotifyActivities(factory).all(),
        *MembershipActivities(factory, settings).all(),
        matching.shortlist_experts,
        matching.record_shortlist_exposure,
    ]


def document_activities(settings: Settings) -> list[Callable[..., Any]]:
    factory = make_session_factory(shared_engine(settings.database_url))
    docs = DocumentActivities(factory, open_document_store(settings.document_store), Renderer(), settings)
    docs.warm_up()
    return [
        docs.render_contract,
        docs.sign_contract,
        docs.seal_contract,
        docs.issue_mission_invoice,
        docs.issue_fee_invoice,
        docs.issue_credit_note,
        docs.record_fee_paid,
    ]


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
                interceptors=[AutoHeartbeat()],
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
                interceptors=[AutoHeartbeat()],
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
