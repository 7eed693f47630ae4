"""The mission tracker shows where a mission is, who acts next and by when, to each party only what is theirs (it is
built from the state after `api.views.redact`, as the mission page builds it)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from api.views import redact
from api.web.core import TEMPLATES
from api.web.tracker import tracker_of
from domain.actors import Role
from domain.mission import Deadline, Invitation, MissionView, PendingAction
from domain.need import Need
from domain.policy import Policy
from domain.stages import Stage
from store.models.community import User

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
ORG, ALICE, BOB = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
NAMES = {ALICE: "Alice Martin", BOB: "Bob Durand"}


def _view() -> MissionView:
    """A mission in proposals: Alice proposed, Bob has two days left to propose, the client selects within a week."""
    need = Need(
        title="Monthly close redesign", description="Redesign the monthly close of a mid-size group.",
        business_function="finance", skills=["consolidation"], languages=["en"], budget_min=Decimal(600),
        budget_max=Decimal(900), start_date=date(2027, 1, 4), duration_days=30,
    )  # fmt: skip
    due_proposals, due_selection = NOW + timedelta(days=2), NOW + timedelta(days=7)
    return MissionView(
        workflow_id="mission:x", mission_id=uuid.uuid4(), client_org_id=ORG, need=need, policy=Policy(),
        stage=Stage.PROPOSALS, started_at=NOW, updated_at=NOW,
        invitations=[Invitation(expert_id=e, status="accepted", invited_at=NOW) for e in (ALICE, BOB)],
        deadlines=[
            Deadline(key="proposals:1", kind="proposals", due=due_proposals, remind_at=due_proposals),
            Deadline(key="selection", kind="selection", due=due_selection, remind_at=due_selection),
        ],
        pending_actions=[
            PendingAction(key="select", role=Role.CLIENT, party_id=ORG, action="select_proposal", due=due_selection),
            PendingAction(key=f"proposal:{BOB}", role=Role.EXPERT, party_id=BOB, action="submit_proposal",
                          deadline="proposals:1"),
        ],
    )  # fmt: skip


def test_the_client_sees_the_stage_and_who_acts_next_by_when() -> None:
    client = User(role="client", organisation_id=ORG)
    tracker = tracker_of(redact(_view(), client), client, "en", NAMES, now=NOW)
    assert [(s.stage, s.state) for s in tracker.steps] == [
        ("need", "done"), ("shortlist", "done"), ("invitations", "done"), ("proposals", "current"),
        ("contract", "todo"), ("delivery", "todo"), ("feedback", "todo"), ("closed", "todo"),
    ]  # fmt: skip
    first, then = tracker.next
    assert (first.who, first.what, first.mine, first.countdown) == ("You", "Select a proposal", True, "in 1 week")
    assert (then.who, then.what, then.countdown) == ("Bob Durand", "Send a proposal", "in 2 days")


def test_a_candidate_sees_only_their_own_task_in_their_language() -> None:
    bob = User(role="expert", expert_id=BOB)
    seen = redact(_view(), bob)
    tracker = tracker_of(seen, bob, "fr", NAMES, now=NOW)
    assert [(a.who, a.what, a.countdown) for a in tracker.next] == [("Vous", "Envoyer une proposition", "dans 2 jours")]
    html = TEMPLATES["fr"].get_template("_tracker.html").render(tracker=tracker, view=seen, stage=str)
    assert "Alice" not in html and "client" not in html.lower() and 'aria-current="step"' in html

    alice = User(role="expert", expert_id=ALICE)
    assert tracker_of(redact(_view(), alice), alice, "en", NAMES, now=NOW).next == [], "nothing of Bob's deadline"


def test_a_closed_mission_has_every_stage_done_and_a_cancelled_one_says_so() -> None:
    client = User(role="client", organisation_id=ORG)
    closed = _view().model_copy(update={"stage": Stage.CLOSED, "pending_actions": [], "deadlines": []})
    assert {s.state for s in tracker_of(closed, client, "en", NAMES, now=NOW).steps} == {"done"}
    cancelled = closed.model_copy(update={"stage": Stage.CANCELLED, "resume_stage": None})
    tracker = tracker_of(cancelled, client, "en", NAMES, now=NOW)
    assert tracker.exit == "cancelled" and "current" not in {s.state for s in tracker.steps}
