"""Read-your-writes: when an action's answer arrives, the read model (lists, timeline, inbox, audit) and the search
attributes already show it. Nothing here polls: each check runs once, right after the answer. On the dev server,
where the search attributes exist."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.mission import AcceptDeliverable, PauseMission, ResumeMission, StartInvitations, StartMission
from domain.policy import Policy
from domain.stages import MilestoneStage, Stage
from store.models.community import AuditEntry
from store.models.readmodel import MissionMilestone, MissionRecord
from tests.workflows import flows
from tests.workflows.conftest import Harness, make_need
from workflows.client import open_mission, send_milestone_update
from workflows.search_attributes import MISSION_STAGE

pytestmark = pytest.mark.db


async def test_a_new_mission_is_listed_when_its_start_is_answered(dev: Harness) -> None:
    h = dev
    # what the API does to answer POST /missions: start the workflow with its `opened` update (a plain start then a
    # query could be answered before the first write, when no worker had picked the first task up yet)
    start = StartMission(
        mission_id=h.mission_id,
        client_org_id=h.org_id,
        need=make_need(),
        actor=h.client_actor,
        policy=Policy(),
        documents_task_queue=h.task_queue,
    )
    await open_mission(h.env.client, start, task_queue=h.task_queue)
    with h.sessions() as s:
        row = s.get(MissionRecord, h.mission_id)
    assert row is not None and row.title == "Finance transformation"
    assert "need_submitted" in [e.kind for e in h.timeline()]


async def test_after_an_action_is_answered_the_read_model_and_search_attributes_show_it(dev: Harness) -> None:
    h = dev
    ops = h.ops
    await flows.to_shortlist(h)

    paused = await h.update("pause", PauseMission(actor=ops, reason="checking the need"))
    assert paused.paused
    with h.sessions() as s:
        row = s.get(MissionRecord, h.mission_id)
        assert row is not None and row.paused, "the mission list shows it paused"
        audits = s.scalars(select(AuditEntry.action).where(AuditEntry.target == f"mission:{h.mission_id}")).all()
    assert h.timeline()[-1].kind == "paused"
    assert audits == ["pause"], "the ops action is audited"
    await h.update("resume", ResumeMission(actor=ops, reason="need checked"))

    moved = await h.update("start_invitations", StartInvitations(actor=h.client_actor))
    assert moved.stage is Stage.INVITATIONS
    with h.sessions() as s:
        row = s.get(MissionRecord, h.mission_id)
    assert row is not None and row.stage == "invitations"
    assert "review_shortlist" not in [t.key for t in h.open_tasks("client")], "the inbox no longer asks for it"
    described = await h.handle.describe()
    assert described.typed_search_attributes.get(MISSION_STAGE) == "invitations"


async def test_after_a_milestone_action_is_answered_the_mission_page_shows_it(dev: Harness) -> None:
    h = dev
    await flows.to_delivery(h)
    await flows.deliver(h, 1)
    await h.until_milestone(1, lambda m: m.stage is MilestoneStage.IN_REVIEW)

    view = await send_milestone_update(
        h.env.client, h.mission_id, 1, "accept_deliverable", AcceptDeliverable(actor=h.client_actor)
    )
    assert view.stage is MilestoneStage.INVOICING
    with h.sessions() as s:
        stage = s.scalar(select(MissionMilestone.stage).where(MissionMilestone.workflow_id == view.workflow_id))
    assert stage == "invoicing"
    assert "milestone:invoicing" in [e.kind for e in h.timeline()]
