"""Prometheus metrics of the API: requests and latencies per route, plus business gauges read from the read
models at scrape time (missions per stage, overdue deadlines, documents issued)."""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from store.models.legal import DocumentRecord
from store.models.readmodel import MissionRecord, Task


class ReadModelCollector(Collector):
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def collect(self) -> Iterator[Metric]:
        stages = GaugeMetricFamily("innot_missions", "Missions per stage", labels=["stage"])
        overdue = GaugeMetricFamily("innot_overdue_tasks", "Open tasks past their due date", labels=["role"])
        documents = GaugeMetricFamily("innot_documents_issued", "Documents issued", labels=["kind"])
        try:
            with self.factory() as session:
                for stage, count in session.execute(
                    select(MissionRecord.stage, func.count()).group_by(MissionRecord.stage)
                ):
                    stages.add_metric([stage], count)
                now = datetime.now(UTC)
                for role, count in session.execute(
                    select(Task.role, func.count())
                    .where(Task.closed_at.is_(None), Task.due_at < now)
                    .group_by(Task.role)
                ):
                    overdue.add_metric([role], count)
                for kind, count in session.execute(
                    select(DocumentRecord.kind, func.count()).group_by(DocumentRecord.kind)
                ):
                    documents.add_metric([kind], count)
        except Exception:  # the database being down must not break the scrape of the other metrics
            return
        yield from (stages, overdue, documents)


class MetricsMiddleware:
    """Plain ASGI middleware (no per-request task or body wrapping, unlike `@app.middleware("http")`)."""

    def __init__(self, app: ASGIApp, *, requests: Counter, latency: Histogram) -> None:
        self.app, self.requests, self.latency = app, requests, latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.latency.labels(scope["method"], route).observe(time.perf_counter() - started)
            self.requests.labels(scope["method"], route, str(status)).inc()


def install(app: FastAPI, factory: sessionmaker[Session], token: str | None = None) -> None:
    registry = CollectorRegistry()
    requests = Counter("innot_http_requests", "HTTP requests", ["method", "route", "status"], registry=registry)
    latency = Histogram(
        "innot_http_request_seconds",
        "HTTP request latency",
        ["method", "route"],
        registry=registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    )
    registry.register(ReadModelCollector(factory))

    app.add_middleware(MetricsMiddleware, requests=requests, latency=latency)

    expected = f"Bearer {token}".encode() if token else None

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return Response(
                    "metrics: a bearer token is required (INNOT_METRICS_TOKEN)",
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
