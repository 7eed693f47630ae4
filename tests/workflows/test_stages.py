"""The allowed moves as pure code: what a mission and a milestone may and may not do."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from domain.policy import Policy
from domain.stages import (
    ALLOWED,
    MILESTONE_ALLOWED,
    SUSPENDED,
    TERMINAL,
    WORKING,
    MilestoneStage,
    Stage,
    can_move,
    can_move_milestone,
)

HAPPY = [
    Stage.NEED,
    Stage.QUALIFICATION,
    Stage.SHORTLIST,
    Stage.INVITATIONS,
    Stage.PROPOSALS,
    Stage.CONTRACT,
    Stage.DELIVERY,
    Stage.FEEDBACK,
    Stage.CLOSED,
]


def test_happy_path_moves_are_allowed_in_order_and_never_backwards() -> None:
    for frm, to in itertools.pairwise(HAPPY):
        assert can_move(frm, to), f"{frm} -> {to}"
    assert can_move(Stage.NEED, Stage.SHORTLIST), "qualification is optional"
    assert not can_move(Stage.CONTRACT, Stage.PROPOSALS)
    assert not can_move(Stage.DELIVERY, Stage.CONTRACT)
    assert not can_move(Stage.SHORTLIST, Stage.CONTRACT), "no stage may be skipped"


@pytest.mark.parametrize("stage", sorted(WORKING))
def test_every_working_stage_has_the_side_exits(stage: Stage) -> None:
    assert can_move(stage, Stage.CANCELLED)
    assert can_move(stage, Stage.NEEDS_ATTENTION)
    assert can_move(stage, Stage.DISPUTED)


def test_terminal_stages_are_final_and_suspended_stages_return_anywhere_working() -> None:
    for stage in TERMINAL:
        assert ALLOWED[stage] == frozenset()
    for stage in SUSPENDED:
        assert ALLOWED[stage] >= WORKING
    assert can_move(Stage.DISPUTED, Stage.CLOSED), "ops may settle a dispute and close"
    assert not can_move(Stage.NEEDS_ATTENTION, Stage.CLOSED), "a repair never closes a mission by itself"


def test_milestone_moves() -> None:
    assert can_move_milestone(MilestoneStage.AWAITING_DELIVERABLE, MilestoneStage.IN_REVIEW)
    assert can_move_milestone(MilestoneStage.IN_REVIEW, MilestoneStage.AWAITING_DELIVERABLE), "revision"
    assert can_move_milestone(MilestoneStage.IN_REVIEW, MilestoneStage.INVOICING)
    assert not can_move_milestone(MilestoneStage.AWAITING_DELIVERABLE, MilestoneStage.INVOICING)
    assert not can_move_milestone(MilestoneStage.INVOICING, MilestoneStage.IN_REVIEW)
    assert MILESTONE_ALLOWED[MilestoneStage.PAID] == frozenset()
    assert every_stage_listed()


def every_stage_listed() -> bool:
    return set(ALLOWED) == set(Stage) and set(MILESTONE_ALLOWED) == set(MilestoneStage)


def test_policy_defaults_and_reminder_lead() -> None:
    p = Policy()
    assert (p.invitation_answer, p.proposals, p.selection) == (
        timedelta(hours=72),
        timedelta(days=7),
        timedelta(days=14),
    )
    assert (p.signature, p.review, p.feedback, p.invoice_due_days) == (
        timedelta(days=7),
        timedelta(days=10),
        timedelta(days=14),
        30,
    )
    assert p.target_accepted == 3 and p.revision_rounds == 2
    assert p.reminder_for(timedelta(days=7)) == timedelta(hours=24)
    assert p.reminder_for(timedelta(hours=10)) == timedelta(hours=5), "never more than half the span"
    with pytest.raises(ValueError):
        Policy(invoice_due_days=90)
