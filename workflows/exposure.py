"""ExposureWindowWorkflow: every hour (a Temporal Schedule, `exposure-window`), recount each expert's recent
exposure over the fairness window, so that shortlists older than the window stop weighing on the fair-exposure
term (each shortlist adds its own exposure as it is shown: `MatchingActivities.record_shortlist_exposure`)."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleSpec,
)
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.matching import MatchingActivities
    from domain.shortlist import ExposureWindow

SCHEDULE_ID = "exposure-window"
WINDOW_DAYS = 90
RETRY = RetryPolicy(initial_interval=timedelta(seconds=10), maximum_interval=timedelta(minutes=5))


@workflow.defn
class ExposureWindowWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity_method(
            MatchingActivities.refresh_exposure_window,
            ExposureWindow(now=workflow.now(), window_days=WINDOW_DAYS),
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RETRY,
        )


async def ensure_exposure_schedule(client: Client, task_queue: str, *, every: timedelta = timedelta(hours=1)) -> None:
    """Create the schedule unless it exists (every worker calls this at start: the first one creates it)."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(ExposureWindowWorkflow.run, id="exposure-window", task_queue=task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
    )
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(SCHEDULE_ID, schedule)
