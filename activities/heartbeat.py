"""Automatic heartbeats: a worker interceptor that heartbeats for every activity scheduled with a heartbeat
timeout, while it runs (rendering and signing are single long calls that cannot heartbeat themselves).

Why: without heartbeats, an activity whose worker process died is retried only when its start-to-close timeout
expires (minutes for documents); with them, Temporal notices the silence after the heartbeat timeout and
retries on another worker at once (found by tests/faults: a worker killed with SIGKILL stalled invoices).
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor


class _HeartbeatWhileRunning(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        timeout = activity.info().heartbeat_timeout
        if not timeout:
            return await self.next.execute_activity(input)
        # The context's own heartbeat callable, taken before the SDK swaps in its thread-safe variant for
        # threaded activities (that one blocks on the event loop, where this task runs).
        beat = activity._Context.current().heartbeat  # private: no public way from the loop
        assert beat is not None
        every = max(timeout.total_seconds() / 4, 0.5)

        async def pulse() -> None:
            while True:
                await asyncio.sleep(every)
                beat()

        pulsing = asyncio.create_task(pulse())
        try:
            return await self.next.execute_activity(input)
        finally:
            pulsing.cancel()
            with suppress(asyncio.CancelledError):
                await pulsing


class AutoHeartbeat(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _HeartbeatWhileRunning(next)
