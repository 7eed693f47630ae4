"""Every deadline on the time-skipping server: reminder before, then what expiry does (backfill, window closed,
escalation to ops, automatic acceptance, late-payment notice)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from domain.mission import (
    AnswerInvitation,
    ExtendDeadline,
    RateParty,
    ResumeMission,
    SelectProposal,
    StartInvitations,
    SubmitProposal,
)
from domain.stages import MilestoneStage, Stage
from tests.workflows import flows
from tests.workflows.conftest import Harness, eventually, terms

pytestmark = pytest.mark.db


async def test_invitations_remind_expire_and_backfill_from_the_reserve(ts: Harness) -> None:
    h = ts
    view = await flows.to_invitations(h)
    e1, e2, e3 = (i.expert_id for i in view.invitations)
    r1, r2 = h.fakes.experts[3:5]
    await h.update("accept_invitation", AnswerInvitation(actor=h.expert(e1)))
    await h.update("decline_invitation", AnswerInvitation(actor=h.expert(e2), reason="busy"))
    view = await h.until(lambda v: len(v.invitations) == 4)
    assert view.invitations[-1].expert_id == r1, "a decline is backfilled from the reserve at once"

    await h.skip(timedelta(hours=50))  # 22 h before the 72 h answer deadline
    await h.until(lambda v: all(d.reminded for d in v.deadlines))
    reminded = {n.party_id for n in h.notifications("reminder")}
    assert reminded == {e3, r1}, "only experts who have not answered are reminded"

    await h.update("accept_invitation", AnswerInvitation(actor=h.expert(r1)))
    await h.skip(timedelta(hours=23))  # e3 stays silent past 72 h
    view = await h.until(lambda v: len(v.invitations) == 5)
    assert {i.expert_id: i.status for i in view.invitations}[e3] == "expired"
    assert view.invitations[-1].expert_id == r2
    await eventually(lambda: [n.party_id for n in h.notifications("invitation_expired")] == [e3])

    await h.update("accept_invitation", AnswerInvitation(actor=h.expert(r2)))
    view = await h.until(lambda v: v.stage is Stage.PROPOSALS)
    assert sorted(map(str, view.accepted_expert_ids())) == sorted(map(str, [e1, r1, r2]))
    await eventually(lambda: {t.party_id for t in h.open_tasks("expert")} == {e1, r1, r2})


async def test_exhausted_pool_tells_the_client_and_asks_ops_then_matches_again(ts: Harness) -> None:
    h = ts
    h.fakes.shortlisted, h.fakes.experts = 1, h.fakes.experts[:1]
    view = await flows.to_shortlist(h)
    await h.update("start_invitations", StartInvitations(actor=h.client_actor))
    await h.update("decline_invitation", AnswerInvitation(actor=h.expert(view.shortlist[0].expert_id)))

    view = await h.until(lambda v: v.stage is Stage.NEEDS_ATTENTION)
    assert view.attention_reason == "no expert accepted and the reserve is exhausted"
    await eventually(lambda: [n.role for n in h.notifications("pool_exhausted")] == ["client"])
    await eventually(lambda: [t.action for t in h.open_tasks("ops")] == ["repair"])

    h.fakes.experts.append(fresh := uuid.uuid4())  # the directory grew meanwhile
    await h.update("resume", ResumeMission(actor=h.ops))
    view = await h.until(lambda v: v.stage is Stage.SHORTLIST and bool(v.shortlist))
    assert [c.expert_id for c in view.shortlist] == [fresh], "the declined expert is excluded from the new round"
    await eventually(lambda: h.open_tasks("ops") == [])


async def test_proposal_window_closes_at_its_deadline_and_selection_escalates(ts: Harness) -> None:
    h = ts
    view = await flows.to_proposals(h)
    first = view.accepted_expert_ids()[0]
    await h.update("submit_proposal", SubmitProposal(actor=h.expert(first), terms=terms()))

    await h.skip(timedelta(days=7, hours=1))
    view = await h.until(lambda v: not v.proposals_open and any(a.key == "select_proposal" for a in v.pending_actions))
    assert [p.expert_id for p in view.proposals] == [first]
    await eventually(lambda: len(h.notifications("reminder")) == 2)
    await eventually(lambda: {t.action for t in h.open_tasks()} == {"select_proposal"})

    await h.skip(timedelta(days=14, hours=1))
    await h.until(lambda v: any(a.key == "escalation:selection:1" for a in v.pending_actions))
    await eventually(lambda: [t.action for t in h.open_tasks("ops")] == ["follow_up_deadline"])
    await eventually(lambda: [n.role for n in h.notifications("deadline_expired")] == ["client"])

    await h.update("select_proposal", SelectProposal(actor=h.client_actor, expert_id=first))
    await h.until(lambda v: v.stage is Stage.CONTRACT and v.contract is not None)
    await eventually(lambda: h.open_tasks("ops") == [])  # the escalation closes when the client acts


async def test_signature_reminder_escalation_and_ops_extension(ts: Harness) -> None:
    h = ts
    await flows.to_contract(h)
    await h.skip(timedelta(days=6, hours=1))
    await h.until(lambda v: v.deadlines[0].reminded)
    await eventually(lambda: {n.role for n in h.notifications("reminder")} == {"client", "expert"})

    await h.skip(timedelta(hours=24))
    view = await h.until(lambda v: any(a.key == "escalation:signature" for a in v.pending_actions))
    old_due = view.deadlines[0].due

    new_due = old_due + timedelta(days=3)
    view = await h.update(
        "extend_deadline", ExtendDeadline(actor=h.ops, key="signature", new_due=new_due, reason="holidays")
    )
    assert view.deadlines[0].due == new_due and not view.deadlines[0].expired
    await eventually(lambda: h.open_tasks("ops") == [])
    await eventually(lambda: {t.due_at for t in h.open_tasks()} == {new_due})  # the parties see the new date

    await flows.sign(h, "client")
    await flows.sign(h, "expert")
    view = await h.until(lambda v: v.stage is Stage.DELIVERY)
    assert view.contract is not None and view.contract.sealed is not None


async def test_review_silence_accepts_then_payment_is_chased(ts: Harness) -> None:
    h = ts
    await flows.to_delivery(h)
    await flows.deliver(h, 1)
    await h.skip(timedelta(days=10, hours=1))
    m = await h.until_milestone(1, lambda m: m.stage is MilestoneStage.AWAITING_PAYMENT)
    assert m.accepted_automatically and m.invoice is not None and m.invoice.number == "F-0001"
    await eventually(lambda: [n.role for n in h.notifications("deliverable_auto_accepted")] == ["client"])
    await h.until(lambda v: v.stage is Stage.FEEDBACK)

    await h.skip(timedelta(days=30))  # the day before the due date (end of day)
    await h.until_milestone(1, lambda m: m.deadlines[0].reminded)
    await eventually(lambda: any(n.params.get("action") == "confirm_payment" for n in h.notifications("reminder")))

    await h.skip(timedelta(days=2))
    await h.until_milestone(1, lambda m: any(a.key == "escalation:payment" for a in m.pending_actions))
    await eventually(lambda: sorted(n.role for n in h.notifications("late_payment_notice")) == ["client", "expert"])
    await h.skip(timedelta(days=15))
    await h.until_milestone(1, lambda m: [d.key for d in m.deadlines] == ["payment"])  # follow-ups done
    await eventually(lambda: [n.params["reminder"] for n in h.notifications("overdue_reminder")] == ["1", "2"])

    await flows.pay(h, 1)
    m = await h.until_milestone(1, lambda m: m.stage is MilestoneStage.PAID)
    await eventually(lambda: not [t for t in h.open_tasks() if t.workflow_id == m.workflow_id])


async def test_feedback_window_closes_the_mission_with_the_ratings_given(ts: Harness) -> None:
    h = ts
    await flows.to_delivery(h)
    await flows.deliver(h, 1)
    await flows.accept(h, 1)
    await flows.pay(h, 1)
    await h.until(lambda v: v.stage is Stage.FEEDBACK and bool(v.deadlines))
    await h.update("rate", RateParty(actor=h.client_actor, score=4))

    await h.skip(timedelta(days=14, hours=1))
    closed = await h.until(lambda v: v.stage is Stage.CLOSED)
    assert [r.by for r in closed.ratings] == ["client"] and closed.ratings_revealed
    assert h.open_tasks() == []
    await h.skip(timedelta(days=14, hours=1))  # closed, it took the expert's answer to the rating until then
    assert (await h.handle.result()).stage is Stage.CLOSED


async def test_deliverable_reminder_escalation_to_ops_then_late_delivery_closes_it(ts: Harness) -> None:
    h = ts
    await flows.to_delivery(h, terms("4000.00"))
    m = await h.until_milestone(1, lambda m: [d.key for d in m.deadlines] == ["deliverable:0"])
    deadline = m.deadlines[0]
    now = await h.env.get_current_time()

    await h.skip(deadline.remind_at - now + timedelta(minutes=5))
    await h.until_milestone(1, lambda m: m.deadlines[0].reminded)
    await eventually(
        lambda: (
            [n.role for n in h.notifications("reminder") if n.params.get("action") == "submit_deliverable"]
            == ["expert"]
        )
    )
    assert h.open_tasks("ops") == []  # a reminder is not an escalation yet

    await h.skip(deadline.due - deadline.remind_at + timedelta(hours=1))
    m = await h.until_milestone(1, lambda m: any(a.key == "escalation:deliverable:0" for a in m.pending_actions))
    assert m.stage is MilestoneStage.AWAITING_DELIVERABLE  # late: ops follow it up, the expert may still deliver
    await eventually(lambda: [t.action for t in h.open_tasks("ops")] == ["follow_up_deadline"])

    await flows.deliver(h, 1)
    await h.until_milestone(1, lambda m: m.stage is MilestoneStage.IN_REVIEW)
    await eventually(lambda: h.open_tasks("ops") == [])  # the late deliverable closes the escalation
