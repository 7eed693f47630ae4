"""The stages of a mission and of a milestone, and the moves allowed between them: pure code.

Workflows change stage only through their `_transition`, which asks `can_move` first. Pausing is a flag on the
mission (it freezes deadlines and human actions without changing the stage), not a stage.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """Mission stages, in the order of the happy path, then the side exits."""

    NEED = "need"
    APPROVAL = "approval"  # an approver of the client organisation approves a budget above its threshold
    QUALIFICATION = "qualification"
    SHORTLIST = "shortlist"
    INVITATIONS = "invitations"
    PROPOSALS = "proposals"
    CONTRACT = "contract"
    DELIVERY = "delivery"
    FEEDBACK = "feedback"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    DISPUTED = "disputed"
    NEEDS_ATTENTION = "needs_attention"


WORKING: frozenset[Stage] = frozenset(
    {
        Stage.NEED,
        Stage.APPROVAL,
        Stage.QUALIFICATION,
        Stage.SHORTLIST,
        Stage.INVITATIONS,
        Stage.PROPOSALS,
        Stage.CONTRACT,
        Stage.DELIVERY,
        Stage.FEEDBACK,
    }
)
TERMINAL: frozenset[Stage] = frozenset({Stage.CLOSED, Stage.CANCELLED})
# before matching: the need as submitted or revised, its budget's approval, ops' qualification
BEFORE_MATCHING: frozenset[Stage] = frozenset({Stage.NEED, Stage.APPROVAL, Stage.QUALIFICATION})
SUSPENDED: frozenset[Stage] = frozenset({Stage.DISPUTED, Stage.NEEDS_ATTENTION})
_SIDE_EXITS = {Stage.CANCELLED, Stage.DISPUTED, Stage.NEEDS_ATTENTION}

ALLOWED: dict[Stage, frozenset[Stage]] = {
    Stage.NEED: frozenset({Stage.APPROVAL, Stage.QUALIFICATION, Stage.SHORTLIST, *_SIDE_EXITS}),
    # an approver approves the budget (-> qualification or matching) or rejects it (-> need: the buyer revises)
    Stage.APPROVAL: frozenset({Stage.NEED, Stage.QUALIFICATION, Stage.SHORTLIST, *_SIDE_EXITS}),
    # ops may send the need back to the client for details (-> need)
    Stage.QUALIFICATION: frozenset({Stage.NEED, Stage.SHORTLIST, *_SIDE_EXITS}),
    Stage.SHORTLIST: frozenset({Stage.INVITATIONS, *_SIDE_EXITS}),
    Stage.INVITATIONS: frozenset({Stage.PROPOSALS, *_SIDE_EXITS}),
    Stage.PROPOSALS: frozenset({Stage.CONTRACT, *_SIDE_EXITS}),
    Stage.CONTRACT: frozenset({Stage.DELIVERY, *_SIDE_EXITS}),
    Stage.DELIVERY: frozenset({Stage.FEEDBACK, *_SIDE_EXITS}),
    Stage.FEEDBACK: frozenset({Stage.CLOSED, Stage.CANCELLED, Stage.DISPUTED, Stage.NEEDS_ATTENTION}),
    # ops decide a dispute: continue where it stopped, or end (cancelled); settling it may need a repair
    Stage.DISPUTED: frozenset({*WORKING, Stage.CANCELLED, Stage.CLOSED, Stage.NEEDS_ATTENTION}),
    # ops resumes where it stopped; an exhausted pool goes back to the shortlist
    Stage.NEEDS_ATTENTION: frozenset({*WORKING, Stage.CANCELLED, Stage.DISPUTED}),
    Stage.CLOSED: frozenset(),
    Stage.CANCELLED: frozenset(),
}


def can_move(frm: Stage, to: Stage) -> bool:
    return to in ALLOWED[frm]


class MilestoneStage(StrEnum):
    """Milestone stages: deliverable, review (bounded revision rounds), invoice, payment."""

    AWAITING_DELIVERABLE = "awaiting_deliverable"
    IN_REVIEW = "in_review"
    INVOICING = "invoicing"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    CANCELLED = "cancelled"
    NEEDS_ATTENTION = "needs_attention"


MILESTONE_WORKING: frozenset[MilestoneStage] = frozenset(
    {
        MilestoneStage.AWAITING_DELIVERABLE,
        MilestoneStage.IN_REVIEW,
        MilestoneStage.INVOICING,
        MilestoneStage.AWAITING_PAYMENT,
    }
)
_MS_EXITS = {MilestoneStage.CANCELLED, MilestoneStage.NEEDS_ATTENTION}

MILESTONE_ALLOWED: dict[MilestoneStage, frozenset[MilestoneStage]] = {
    MilestoneStage.AWAITING_DELIVERABLE: frozenset({MilestoneStage.IN_REVIEW, *_MS_EXITS}),
    # a revision sends the milestone back to the expert; acceptance (explicit or by silence) invoices it
    MilestoneStage.IN_REVIEW: frozenset({MilestoneStage.AWAITING_DELIVERABLE, MilestoneStage.INVOICING, *_MS_EXITS}),
    MilestoneStage.INVOICING: frozenset({MilestoneStage.AWAITING_PAYMENT, *_MS_EXITS}),
    # a dispute accepting it in part after its invoice: credit note, then invoiced again
    MilestoneStage.AWAITING_PAYMENT: frozenset({MilestoneStage.PAID, MilestoneStage.INVOICING, *_MS_EXITS}),
    MilestoneStage.NEEDS_ATTENTION: frozenset({*MILESTONE_WORKING, MilestoneStage.CANCELLED}),
    MilestoneStage.PAID: frozenset(),
    MilestoneStage.CANCELLED: frozenset(),
}


def can_move_milestone(frm: MilestoneStage, to: MilestoneStage) -> bool:
    return to in MILESTONE_ALLOWED[frm]
