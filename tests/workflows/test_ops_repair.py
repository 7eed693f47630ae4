"""Ops repair of a milestone on the time-skipping server: a passed milestone deadline asks ops to follow it up, and
ops extend it (the milestone's own `extend_deadline`, which the escalation task points at); the validator refuses
a past date, an unknown key, a passed review, and anyone but ops, each with its reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from api.routers.missions import form_of
from domain.mission import ExtendDeadline
from domain.stages import MilestoneStage
from tests.workflows import flows
from tests.workflows.conftest import Harness, eventually
from workflows.client import rejection_reason

pytestmark = pytest.mark.db


async def _refusal(h: Harness, cmd: ExtendDeadline) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.update_milestone(1, "extend_deadline", cmd)
    return rejection_reason(err.value)


async def test_ops_extend_a_passed_delivery_deadline_of_a_milestone(ts: Harness) -> None:
    h = ts
    await flows.to_delivery(h)
    m = await h.until_milestone(1, lambda m: any(d.key == "deliverable:0" for d in m.deadlines))
    due = next(d.due for d in m.deadlines if d.key == "deliverable:0")
    await h.skip(due - datetime.now(UTC) + timedelta(hours=2))

    escalation = await eventually(
        lambda: [t for t in h.open_tasks("ops") if t.key == "escalation:deliverable:0"] or None
    )
    hint = form_of(escalation[0].action, h.mission_id, escalation[0].workflow_id)
    assert hint == f"POST /ops/missions/{h.mission_id}/milestones/1/extend", "the task leads to the milestone's route"

    m = await h.milestone_state(1)
    now = next(d.due for d in m.deadlines if d.key == "deliverable:0") + timedelta(hours=2)
    assert await _refusal(h, ExtendDeadline(actor=h.ops, key="deliverable:0", new_due=now - timedelta(days=3))) == (
        "the new due date must be in the future (timezone-aware)"
    )
    refused = await _refusal(h, ExtendDeadline(actor=h.ops, key="delivery", new_due=now + timedelta(days=3)))
    assert refused == "no running deadline 'delivery' (running: deliverable:0)"
    client = ExtendDeadline(actor=h.client_actor, key="deliverable:0", new_due=now + timedelta(days=3))
    assert await _refusal(h, client) == "only ops may extend a deadline"

    new_due = now + timedelta(days=7)
    m = await h.update_milestone(
        1, "extend_deadline", ExtendDeadline(actor=h.ops, key="deliverable:0", new_due=new_due, reason="expert ill")
    )
    d = next(d for d in m.deadlines if d.key == "deliverable:0")
    assert d.due == new_due and not d.expired
    await eventually(lambda: [t.key for t in h.open_tasks("ops")] == [])
    deliver = await eventually(lambda: [t for t in h.open_tasks("expert") if t.key == "deliver:0"] or None)
    assert deliver[0].due_at is not None and deliver[0].due_at.replace(tzinfo=UTC) == new_due
    assert m.stage is MilestoneStage.AWAITING_DELIVERABLE
    await flows.deliver(h, 1)  # the expert delivers within the new deadline
    await h.until_milestone(1, lambda m: m.stage is MilestoneStage.IN_REVIEW)


async def test_a_review_extended_by_ops_is_not_accepted_at_its_old_end(ts: Harness) -> None:
    h = ts
    await flows.to_delivery(h)
    await flows.deliver(h, 1)
    m = await h.until_milestone(1, lambda m: any(d.key == "review:0" for d in m.deadlines))
    old = next(d.due for d in m.deadlines if d.key == "review:0")
    await h.update_milestone(
        1, "extend_deadline", ExtendDeadline(actor=h.ops, key="review:0", new_due=old + timedelta(days=10))
    )
    await h.skip(old - datetime.now(UTC) + timedelta(days=1))
    m = await h.milestone_state(1)
    assert m.stage is MilestoneStage.IN_REVIEW and not m.accepted_automatically

    await h.skip(timedelta(days=10))
    m = await h.until_milestone(1, lambda m: m.stage is not MilestoneStage.IN_REVIEW)
    assert m.accepted_automatically
    refused = await _refusal(
        h, ExtendDeadline(actor=h.ops, key="review:0", new_due=datetime.now(UTC) + timedelta(days=40))
    )
    assert refused.startswith("no running deadline 'review:0'")
