"""A need whose budget is above the organisation's threshold waits for an approver before matching (time-skipping
server): approve and it goes on to matching; reject and it goes back to the buyer, who revises it (or it is
cancelled); the step has a deadline whose reminder reaches the approvers only, then ops follow it up."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError

from domain.actors import Actor, Role
from domain.mission import ApproveBudget, RejectBudget, ReviseNeed
from domain.money import Money
from domain.policy import Policy
from domain.stages import Stage
from store.db import transaction
from store.models.community import Organisation, User
from store.models.notices import NoticeRecipient
from store.models.readmodel import Notification
from tests.workflows.conftest import Harness, eventually, make_need
from workflows.client import rejection_reason

pytestmark = pytest.mark.db

THRESHOLD = Money(amount=Decimal("20000.00"), currency="EUR")  # the need asks 1200 x 30 days = 36000 EUR


def _members(h: Harness) -> dict[str, User]:
    """The client organisation with one member per role."""
    with transaction(h.sessions) as s:
        s.add(Organisation(id=h.org_id, legal_name="Client SAS", legal_form="SAS", country="FR", address_line="1 rue",
                           postcode="75001", city="Paris", billing_email="billing@client.test"))  # fmt: skip
        s.flush()
        people = {}
        for role in ("admin", "buyer", "approver", "finance"):
            user = User(email=f"{role}-{h.org_id.hex[:8]}@client.test", full_name=role.title(), password_hash="x",
                        role="client", organisation_id=h.org_id, org_role=role)  # fmt: skip
            s.add(user)
            s.flush()
            people[role] = user
        s.expunge_all()
    return people


def _actor(user: User) -> Actor:
    return Actor(user_id=user.id, role=Role.CLIENT, org_id=user.organisation_id, org_role=user.org_role)


async def _refused(h: Harness, name: str, cmd: object) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.update(name, cmd)  # type: ignore[arg-type]
    return rejection_reason(err.value)


def _told(h: Harness, action: str) -> set[uuid.UUID]:
    """Who was told of the notices about this task."""
    with h.sessions() as s:
        rows = s.execute(
            select(NoticeRecipient.user_id, Notification.params)
            .join(Notification, Notification.id == NoticeRecipient.notification_id)
            .where(Notification.mission_id == h.mission_id, Notification.kind == "task")
        )
        return {user_id for user_id, params in rows if params.get("action") == action}


async def test_an_approver_approves_the_budget_and_matching_starts(ts: Harness) -> None:
    h = ts
    people = _members(h)
    await h.start(threshold=THRESHOLD)
    view = await h.until(lambda v: v.stage is Stage.APPROVAL)
    [task] = view.pending_actions
    assert (task.action, task.role.value, task.title) == (
        "approve_budget",
        "client",
        "Approve the budget of 36000.00 EUR",
    )
    assert task.due == view.updated_at + Policy().approval, "the approvers have the policy's time from the step's start"
    await eventually(lambda: [t.action for t in h.open_tasks("client")] == ["approve_budget"])
    who = {people["approver"].id, people["admin"].id}
    await eventually(lambda: _told(h, "approve_budget") == who, within=15)

    buyer = await _refused(h, "approve_budget", ApproveBudget(actor=_actor(people["buyer"])))
    assert buyer == "only an approver (or the admin) of the client organisation may approve the budget"
    stranger = Actor(user_id=uuid.uuid4(), role=Role.CLIENT, org_id=uuid.uuid4(), org_role="approver")
    assert "only an approver" in await _refused(h, "reject_budget", RejectBudget(actor=stranger, reason="too much"))

    view = await h.update("approve_budget", ApproveBudget(actor=_actor(people["approver"])))
    assert view.stage is Stage.SHORTLIST
    assert view.approved_budget == Money(amount=Decimal("36000.00"), currency="EUR")
    await h.until(lambda v: bool(v.shortlist))
    late = await _refused(h, "approve_budget", ApproveBudget(actor=_actor(people["approver"])))
    assert late == "cannot approve the budget while the mission is in shortlist (only in approval)"
    kinds = [e.kind for e in h.timeline()]
    assert kinds[:3] == ["need_submitted", "stage:approval", "stage:shortlist"]
    assert h.timeline()[2].summary == "budget of 36000.00 EUR approved"


async def test_a_need_within_the_threshold_goes_straight_to_matching(ts: Harness) -> None:
    h = ts
    await h.start(threshold=Money(amount=Decimal("36000.00"), currency="EUR"))
    view = await h.until(lambda v: v.stage is Stage.SHORTLIST and bool(v.shortlist))
    assert "stage:approval" not in [e.kind for e in h.timeline()]
    assert view.approved_budget is None


async def test_a_rejected_budget_goes_back_to_the_buyer_who_revises_it(ts: Harness) -> None:
    h = ts
    people = _members(h)
    await h.start(Policy(qualification_required=True), threshold=THRESHOLD)
    await h.until(lambda v: v.stage is Stage.APPROVAL)
    view = await h.update("reject_budget", RejectBudget(actor=_actor(people["approver"]), reason="too expensive"))
    assert view.stage is Stage.NEED
    assert [(a.key, a.title) for a in view.pending_actions] == [("revise_budget", "Budget not approved: too expensive")]
    assert not view.deadlines, "the approval deadline stops with the step"
    await eventually(lambda: _told(h, "revise_budget") == {people["admin"].id, people["buyer"].id}, within=15)

    # still above the threshold: back to the approvers; once within it, on to ops' qualification
    higher = make_need(budget_max=Decimal("1500"))
    view = await h.update("revise_need", ReviseNeed(actor=_actor(people["buyer"]), need=higher))
    assert view.stage is Stage.APPROVAL
    await h.update("reject_budget", RejectBudget(actor=_actor(people["admin"]), reason="still too expensive"))
    within = make_need(budget_max=Decimal("600"), budget_min=Decimal("500"))
    view = await h.update("revise_need", ReviseNeed(actor=_actor(people["buyer"]), need=within))
    assert view.stage is Stage.QUALIFICATION
    assert [a.action for a in view.pending_actions] == ["qualify_need"]
    summaries = [(e.kind, e.summary) for e in h.timeline() if e.kind.startswith("stage:")]
    assert summaries == [
        ("stage:approval", "awaiting the budget's approval"),
        ("stage:need", "budget rejected: too expensive"),
        ("stage:approval", "need revised"),
        ("stage:need", "budget rejected: still too expensive"),
        ("stage:qualification", "need revised"),
    ]


async def test_an_approver_may_reject_and_cancel(ts: Harness) -> None:
    h = ts
    people = _members(h)
    await h.start(threshold=THRESHOLD)
    await h.until(lambda v: v.stage is Stage.APPROVAL)
    cmd = RejectBudget(actor=_actor(people["approver"]), reason="not this year", outcome="cancel")
    view = await h.update("reject_budget", cmd)
    assert view.stage is Stage.CANCELLED
    assert view.closed_reason == "budget rejected: not this year"
    await eventually(lambda: h.open_tasks() == [])


async def test_the_approvers_are_reminded_then_ops_follow_up(ts: Harness) -> None:
    h = ts
    people = _members(h)
    await h.start(threshold=THRESHOLD)
    await h.until(lambda v: v.stage is Stage.APPROVAL)

    await h.skip(timedelta(days=2, hours=1))  # the reminder: 24 h before the 3-day deadline
    await h.until(lambda v: all(d.reminded for d in v.deadlines))
    [reminder] = await eventually(lambda: h.notifications("reminder"))
    assert reminder.params["action"] == "approve_budget"
    approvers = {people["approver"].id, people["admin"].id}
    await eventually(lambda: _recipients(h, reminder.id) == approvers, within=15)

    await h.skip(timedelta(days=1))  # past the deadline: ops follow it up; the approvers still may decide
    await eventually(lambda: [t.action for t in h.open_tasks("ops")] == ["follow_up_deadline"])
    [expired] = await eventually(lambda: h.notifications("deadline_expired"))
    await eventually(lambda: _recipients(h, expired.id) == approvers, within=15)
    assert (await h.state()).stage is Stage.APPROVAL

    await h.update("approve_budget", ApproveBudget(actor=_actor(people["admin"]), reason="ok after all"))
    await h.until(lambda v: v.stage is Stage.SHORTLIST)
    await eventually(lambda: h.open_tasks("ops") == [])


def _recipients(h: Harness, notification_id: uuid.UUID) -> set[uuid.UUID]:
    with h.sessions() as s:
        rows = s.scalars(select(NoticeRecipient.user_id).where(NoticeRecipient.notification_id == notification_id))
        return set(rows)
