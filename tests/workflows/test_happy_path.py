"""The whole mission, need to closed, on the time-skipping server and on the real dev server."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.shortlist import ExposureRecord
from domain.stages import MilestoneStage, Stage
from store.models.readmodel import MissionMilestone, MissionRating, MissionRecord
from tests.workflows import flows
from tests.workflows.conftest import Harness, terms
from workflows.client import _live, milestone_state, mission_state
from workflows.search_attributes import CLIENT_ORG, EXPERT_IDS, MISSION_STAGE

pytestmark = pytest.mark.db


async def test_mission_runs_from_need_to_closed(both: Harness) -> None:
    h = both
    result = await flows.close_plainly(h)

    assert result.stage is Stage.CLOSED
    assert (await mission_state(h.env.client, h.mission_id)).stage is Stage.CLOSED, "queryable after closing"
    assert (await milestone_state(h.env.client, h.mission_id, 2)).paid_on is not None
    assert [m.stage for m in result.milestones] == [MilestoneStage.PAID, MilestoneStage.PAID]
    assert [m.invoice.number for m in result.milestones if m.invoice] == ["F-0001", "F-0002"]
    assert result.contract is not None and result.contract.sealed is not None
    assert [s.party for s in result.contract.signatures] == ["client", "expert"]
    assert [d.kind for d in result.documents] == ["contract", "mission_invoice", "mission_invoice"]
    assert result.documents[0].sha256 == result.contract.sealed.sha256
    assert h.fakes.calls["render_contract"] == 1 and h.fakes.calls["seal_contract"] == 1
    assert h.fakes.calls["issue_mission_invoice"] == 2
    [exposure] = [r for r in h.fakes.requests if isinstance(r, ExposureRecord)]
    assert exposure.mission_id == h.mission_id, "the shortlist shown counts for fair exposure"
    assert exposure.expert_ids == h.fakes.experts[: h.fakes.shortlisted]
    assert h.open_tasks() == [], "every pending action is closed at the end"
    kinds = [e.kind for e in h.timeline()]
    for expected in (
        "need_submitted",
        "stage:shortlist",
        "stage:invitations",
        "stage:proposals",
        "stage:contract",
        "contract_signed",
        "stage:delivery",
        "milestone:paid",
        "stage:feedback",
        "rated",
        "stage:closed",
    ):
        assert expected in kinds
    with h.sessions() as s:
        row = s.get(MissionRecord, h.mission_id)
        assert row is not None and row.stage == "closed" and row.selected_expert_id == result.selected_expert_id
        paid = s.scalars(select(MissionMilestone.stage).where(MissionMilestone.mission_id == h.mission_id)).all()
        assert sorted(paid) == ["paid", "paid"]
        assert len(s.scalars(select(MissionRating).where(MissionRating.mission_id == h.mission_id)).all()) == 2
    if h.search_attributes:
        described = await h.handle.describe()
        attrs = described.typed_search_attributes
        assert attrs.get(MISSION_STAGE) == "closed"
        assert attrs.get(CLIENT_ORG) == str(h.org_id)
        assert str(result.selected_expert_id) in (attrs.get(EXPERT_IDS) or [])


async def test_the_mission_state_shows_each_running_milestone_live(dev: Harness) -> None:
    """A milestone tells its mission its stage changes, its expert and its invoice, nothing else (one workflow task
    and one server transfer per signal); a reader of the mission's state sees every running milestone as it is now,
    its tasks and deadlines included. On the dev server: a mission stopped mid-delivery on the shared time-skipping
    server kept later tests from skipping time."""
    h = dev
    await flows.to_delivery(h, terms("3000.00", "2000.00"))
    await flows.deliver(h, 1)
    in_review = await h.until_milestone(1, lambda m: m.stage is MilestoneStage.IN_REVIEW)

    read = await mission_state(h.env.client, h.mission_id)
    assert read.milestones[0].stage is MilestoneStage.IN_REVIEW
    assert read.milestones[0].pending_actions == in_review.pending_actions, "the client's review task is there"
    await h.until(lambda v: v.milestones[0].stage is MilestoneStage.IN_REVIEW)  # told: it cannot be handed over now

    await flows.accept(h, 1)
    accepted = (MilestoneStage.INVOICING, MilestoneStage.AWAITING_PAYMENT)
    await h.until(lambda v: v.milestones[0].stage in accepted)  # told of its acceptance
    await flows.deliver(h, 2)
    await flows.accept(h, 2)
    await flows.rate_both(h)
    for n in (1, 2):
        await flows.pay(h, n)
    result = await h.handle.result()

    assert [m.stage for m in result.milestones] == [MilestoneStage.PAID, MilestoneStage.PAID]
    signals = [
        e async for e in h.handle.fetch_history_events() if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert len(signals) == 8, "each milestone signalled its review, acceptance, invoice and payment, nothing else"


async def test_a_milestone_being_started_reads_as_the_missions_copy(dev: Harness) -> None:
    """The mission lists a milestone as it starts it: a read in between finds no workflow yet and shows the
    mission's copy (its first state) instead of failing."""
    h = dev
    view = await flows.to_delivery(h, terms("3000.00", "2000.00"))
    copy = view.milestones[0].model_copy(update={"number": 7})
    assert await _live(h.env.client, h.mission_id, copy) == copy
