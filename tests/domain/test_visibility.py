"""The visibility rule on its own: where a viewer stands, and which timeline events each party sees."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain.documents import IssuedDocument
from domain.mission import Amendment, ContractState, MilestoneView, MissionView
from domain.money import Money
from domain.policy import Policy
from domain.stages import MilestoneStage, Stage
from domain.visibility import (
    Standing,
    Viewer,
    concerned_expert,
    redact_view,
    sees_contract,
    sees_event,
    sees_rating,
    sees_task,
    sees_thread,
    standing,
)
from tests.workflows.conftest import make_need

ORG, OTHER_ORG = uuid.uuid4(), uuid.uuid4()
WINNER, LOSER, STRANGER = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def expert(expert_id: uuid.UUID) -> Viewer:
    return Viewer(role="expert", expert_id=expert_id)


@pytest.mark.parametrize(
    ("viewer", "participation", "expected"),
    [
        (Viewer(role="ops"), None, Standing.OPS),
        (Viewer(role="client", organisation_id=ORG), None, Standing.CLIENT),
        (Viewer(role="client", organisation_id=OTHER_ORG), None, None),
        (expert(WINNER), "selected", Standing.CONTRACTOR),
        (expert(LOSER), "accepted", Standing.CANDIDATE),
        (expert(LOSER), "pending", Standing.CANDIDATE),
        (expert(LOSER), "withdrawn", Standing.CANDIDATE),  # the platform withdrew the invitation: still theirs
        (expert(LOSER), "handed_over", Standing.HANDOVER),  # their undelivered milestones went to another
        (expert(LOSER), "taking_over", Standing.HANDOVER),  # asked to sign the amendment that hands them over
        (expert(LOSER), "declined", None),
        (expert(LOSER), "expired", None),
        (expert(STRANGER), None, None),  # never invited: on the shortlist, in the reserve, or removed from it
        (Viewer(role="expert"), None, None),
    ],
)
def test_where_a_viewer_stands(viewer: Viewer, participation: str | None, expected: Standing | None) -> None:
    found = standing(viewer, client_org_id=ORG, selected_expert_id=WINNER, participation=participation)
    assert found is expected


def test_a_candidate_event_concerns_the_expert_its_tasks_name() -> None:
    def named(kind: str, **kw: object) -> uuid.UUID | None:
        args: dict[str, object] = {"details": {}, "opened_for_experts": [], "closed_task_keys": []} | kw
        return concerned_expert(kind, selected_expert_id=None, **args)  # type: ignore[arg-type]

    assert named("expert_invited", opened_for_experts=[LOSER]) == LOSER
    assert named("invitation_accepted", closed_task_keys=[f"invitation:{LOSER}"]) == LOSER
    assert named("invitation_expired", closed_task_keys=[f"invitation:{LOSER}"]) == LOSER
    assert named("proposal_submitted", closed_task_keys=[f"proposal:2:{LOSER}"]) == LOSER
    reassigned = {"from": str(LOSER), "to": str(WINNER)}
    keys = [f"invitation:{LOSER}", f"proposal:1:{LOSER}"]
    assert named("expert_reassigned", details=reassigned, closed_task_keys=keys) == LOSER
    assert named("proposal_submitted") is None, "nobody named: shown to no expert"
    two = [f"invitation:{LOSER}", f"invitation:{WINNER}"]
    assert named("invitation_withdrawn", closed_task_keys=two) is None, "two experts named: shown to neither"


def test_from_the_selection_on_every_event_concerns_the_contractor() -> None:
    def named(kind: str, selected: uuid.UUID | None, **details: str) -> uuid.UUID | None:
        return concerned_expert(
            kind, details=details, opened_for_experts=[], closed_task_keys=["*"], selected_expert_id=selected
        )

    assert named("stage:contract", None, expert_id=str(WINNER), **{"from": "proposals"}) == WINNER
    assert named("milestone:awaiting_payment", WINNER, invoice="FA-1") == WINNER
    assert named("stage:cancelled", WINNER) == WINNER
    assert named("stage:cancelled", None) is None
    assert named("proposal_round_opened", None) is None


def test_which_events_each_party_sees() -> None:
    loser, winner = expert(LOSER), expert(WINNER)
    for place in (Standing.OPS, Standing.CLIENT):
        assert sees_event(place, Viewer(role=place.value), kind="shortlist_ready", expert_id=None)
        assert sees_event(place, Viewer(role=place.value), kind="proposal_submitted", expert_id=LOSER)
    assert sees_event(Standing.CANDIDATE, loser, kind="proposal_submitted", expert_id=str(LOSER))
    assert not sees_event(Standing.CANDIDATE, loser, kind="proposal_submitted", expert_id=str(WINNER))
    assert not sees_event(Standing.CANDIDATE, loser, kind="contract_ready", expert_id=str(WINNER))
    assert sees_event(Standing.CANDIDATE, loser, kind="stage:proposals", expert_id=None)
    for private in ("shortlist_ready", "shortlist_edited", "proposals_closed", "deadline_escalated", "new_kind"):
        assert not sees_event(Standing.CANDIDATE, loser, kind=private, expert_id=None), private
        assert not sees_event(Standing.CONTRACTOR, winner, kind=private, expert_id=None), private
    assert sees_event(Standing.CONTRACTOR, winner, kind="milestone:paid", expert_id=WINNER)
    assert not sees_event(Standing.CONTRACTOR, winner, kind="expert_invited", expert_id=LOSER)
    assert sees_contract(Standing.CONTRACTOR) and not sees_contract(Standing.CANDIDATE)


def test_tasks_and_threads_are_their_addressees() -> None:
    loser = expert(LOSER)
    assert sees_task(loser, role="expert", party_id=str(LOSER))
    assert not sees_task(loser, role="expert", party_id=str(WINNER))
    assert not sees_task(loser, role="client", party_id=str(ORG))
    assert sees_task(Viewer(role="ops"), role="ops", party_id=None)
    assert sees_thread(Standing.CANDIDATE, loser, thread_expert_id=LOSER)
    assert not sees_thread(Standing.CANDIDATE, loser, thread_expert_id=WINNER)
    assert sees_thread(Standing.CLIENT, Viewer(role="client", organisation_id=ORG), thread_expert_id=WINNER)
    assert not sees_thread(Standing.OPS, Viewer(role="ops"), thread_expert_id=WINNER), "the audited route only"


@pytest.mark.parametrize(
    ("place", "by", "revealed", "sees"),
    [
        (Standing.CLIENT, "client", False, True),  # one's own rating
        (Standing.CLIENT, "expert", False, False),  # double-blind until revealed
        (Standing.CLIENT, "expert", True, True),
        (Standing.CONTRACTOR, "expert", False, True),
        (Standing.CONTRACTOR, "client", False, False),
        (Standing.CONTRACTOR, "client", True, True),
        (Standing.CANDIDATE, "client", True, False),  # never: the contract is not theirs
        (Standing.OPS, "expert", False, True),
    ],
)
def test_ratings_are_double_blind_until_revealed(place: Standing, by: str, revealed: bool, sees: bool) -> None:
    assert sees_rating(place, by=by, revealed=revealed) is sees


def test_a_handover_shows_each_expert_their_own_part() -> None:
    """After an amendment: the outgoing expert sees the contract they signed, their own milestone and the amendment
    naming them, not the new expert's milestone; the incoming one, while asked to sign it, the amendment too."""
    now = datetime(2030, 1, 6, tzinfo=UTC)
    doc = IssuedDocument(document_id=uuid.uuid4(), kind="contract", sha256="0" * 64)
    need = make_need()

    def milestone(n: int, expert_id: uuid.UUID) -> MilestoneView:
        return MilestoneView(
            workflow_id=f"m:{n}", mission_id=uuid.uuid4(), number=n, title=f"Phase {n}",
            amount=Money(amount=Decimal("1000"), currency="EUR"), due_date=date(2030, 3, n),
            stage=MilestoneStage.AWAITING_DELIVERABLE, client_org_id=ORG, expert_id=expert_id,
        )  # fmt: skip

    amendment = Amendment(number=1, from_expert_id=LOSER, to_expert_id=WINNER, reason="leave", milestones=[2],
                          contract=ContractState(document=doc))  # fmt: skip
    view = MissionView(
        workflow_id="mission:x", mission_id=uuid.uuid4(), client_org_id=ORG, need=need, policy=Policy(),
        stage=Stage.DELIVERY, selected_expert_id=LOSER, contract=ContractState(document=doc),
        amendments=[amendment], milestones=[milestone(1, LOSER), milestone(2, LOSER)], started_at=now, updated_at=now,
    )  # fmt: skip
    incoming = redact_view(view, expert(WINNER))
    assert [a.number for a in incoming.amendments] == [1] and incoming.to_sign() is not None
    assert incoming.milestones == [], "the milestones are not theirs until the amendment is sealed"

    done = amendment.model_copy(update={"handed_over_at": now})
    handed = view.model_copy(update={"amendments": [done], "selected_expert_id": WINNER, "former_expert_ids": [LOSER],
                                     "milestones": [milestone(1, LOSER), milestone(2, WINNER)]})  # fmt: skip
    outgoing = redact_view(handed, expert(LOSER))
    assert [m.number for m in outgoing.milestones] == [1] and outgoing.contract is not None
    assert [a.number for a in outgoing.amendments] == [1] and outgoing.selected_expert_id is None
    assert [m.number for m in redact_view(handed, expert(WINNER)).milestones] == [1, 2]
    assert redact_view(handed, expert(STRANGER)).amendments == []
