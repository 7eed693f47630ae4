"""Structured logs (structlog: JSON outside development) with mission and workflow ids bound per request or
activity, and the Temporal runtime (SDK metrics on a Prometheus endpoint, OpenTelemetry tracing when enabled)."""

from __future__ import annotations

import logging
import sys

import structlog
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from config.settings import Settings


def configure_logging(settings: Settings) -> None:
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer(colors=False)
        if settings.environment == "development"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    for noisy in ("weasyprint", "fontTools", "pyhanko"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def temporal_runtime(settings: Settings) -> Runtime | None:
    """A runtime exporting the SDK's metrics (task latencies, slots, polls...) for Prometheus, when configured."""
    if not settings.worker_metrics_address:
        return None
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=settings.worker_metrics_address)))
