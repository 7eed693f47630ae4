"""NoticeDigestWorkflow: once a day (a Temporal Schedule, `notice-digest`), e-mail each person who chose the
daily digest the notices gathered for them since the last one."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleRange,
    ScheduleSpec,
)
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.notify import NotifyActivities

SCHEDULE_ID = "notice-digest"
# the mail server may be down for a while: retry for hours, never give up on a day's digest
RETRY = RetryPolicy(initial_interval=timedelta(seconds=10), maximum_interval=timedelta(minutes=5))


@workflow.defn
class NoticeDigestWorkflow:
    @workflow.run
    async def run(self) -> int:
        sent: int = await workflow.execute_activity_method(
            NotifyActivities.send_digests, start_to_close_timeout=timedelta(minutes=10), retry_policy=RETRY
        )
        return sent


async def ensure_digest_schedule(client: Client, task_queue: str, *, hour_utc: int = 6) -> None:
    """Create the daily schedule unless it exists (every worker calls this at start: the first one creates it)."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(NoticeDigestWorkflow.run, id="notice-digest", task_queue=task_queue),
        spec=ScheduleSpec(calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(hour_utc)])]),
    )
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(SCHEDULE_ID, schedule)
