"""Calls from a mission or a milestone to the other capabilities (matching, documents): their timeouts and retries,
and what happens when one fails for good: the process parks in needs_attention with the reason (`repair`), and
ops `resume` retries the same step."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar, overload

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, is_cancelled_exception
from temporalio.types import MethodAsyncSingleParam, MethodSyncSingleParam

A = TypeVar("A")
T = TypeVar("T")
Repair = Callable[[str], Awaitable[None]]

# Matching, rendering and signing take well under a second: a worker that died holding one is noticed after this
# timeout, and the activity retried on another worker.
TIMEOUT = timedelta(seconds=30)
# ~2.5 minutes of retries (1+2+4+8+16+4x30 s) before needs_attention: a database or document-store outage of a
# minute or two is not a failure for good (tests/faults)
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
    non_retryable_error_types=["ValueError", "ValidationError"],
)


@overload
async def call(
    step: str, activity: MethodAsyncSingleParam[Any, A, T], arg: A, *, task_queue: str | None, repair: Repair
) -> T: ...


@overload
async def call(
    step: str, activity: MethodSyncSingleParam[Any, A, T], arg: A, *, task_queue: str | None, repair: Repair
) -> T: ...


async def call(step: str, activity: Any, arg: Any, *, task_queue: str | None, repair: Repair) -> Any:
    """Run the activity until it succeeds; each failure for good goes to `repair(reason)`, which returns once ops
    resumed the process. Cancelled with the process, it raises CancelledError."""
    while True:
        try:
            return await workflow.execute_activity_method(
                activity, arg, task_queue=task_queue, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
            )
        except ActivityError as err:
            if is_cancelled_exception(err):
                # the process is stopping (cancelled, settled): the activity was cancelled with it, which is no
                # failure to park for a repair; waiting for one would hold the stop forever
                raise asyncio.CancelledError from err
            await repair(f"{step} failed: {err.cause if err.cause is not None else err}"[:1000])
