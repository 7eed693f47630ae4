"""Since workflows v5 (`read-model-written-after-the-answer`): the workflow task that answers an action carries the
answer and a short timer, no activity and no search-attribute upsert (each would hold the answer while the server
persists it); the read model and the search attributes follow a few milliseconds later. On the dev server, where
the search attributes exist."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from domain.mission import PauseMission, ResumeMission, StartInvitations
from domain.stages import Stage
from store.models.readmodel import MissionRecord
from tests.workflows import flows
from tests.workflows.conftest import Harness, _poll
from workflows.search_attributes import MISSION_STAGE

pytestmark = pytest.mark.db

_LATER = {EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, EventType.EVENT_TYPE_TIMER_FIRED}


async def _answering_task(h: Harness) -> set[EventType.ValueType]:
    """What the workflow task that completed the last update recorded: its events up to whatever came later."""
    events: list[HistoryEvent] = list((await h.handle.fetch_history()).events)
    done = max(
        i for i, e in enumerate(events) if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
    )
    start = max(i for i in range(done) if events[i].event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    recorded: set[EventType.ValueType] = set()
    for event in events[start + 1 :]:
        if event.event_type in _LATER:
            break
        recorded.add(event.event_type)
    return recorded


async def test_an_action_is_answered_first_and_the_read_model_and_search_attributes_follow(dev: Harness) -> None:
    h = dev
    await flows.to_shortlist(h)

    paused = await h.update("pause", PauseMission(actor=h.ops, reason="checking the need"))
    assert paused.paused
    recorded = await _answering_task(h)
    assert EventType.EVENT_TYPE_TIMER_STARTED in recorded, "the write waits for a timer"
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in recorded
    assert EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES not in recorded
    await _poll(lambda: _kinds(h), lambda kinds: "paused" in kinds, 10)  # then the timeline shows it
    await h.update("resume", ResumeMission(actor=h.ops, reason="need checked"))

    moved = await h.update("start_invitations", StartInvitations(actor=h.client_actor))
    assert moved.stage is Stage.INVITATIONS
    assert EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES not in await _answering_task(h)

    async def stage_everywhere() -> tuple[str | None, str | None]:
        with h.sessions() as s:
            row = s.get(MissionRecord, h.mission_id)
        described = await h.handle.describe()
        return (row.stage if row else None), described.typed_search_attributes.get(MISSION_STAGE)

    await _poll(stage_everywhere, lambda seen: seen == ("invitations", "invitations"), 10)


async def _kinds(h: Harness) -> list[str]:
    return [e.kind for e in h.timeline()]
