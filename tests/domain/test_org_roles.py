"""What each role of a client organisation may do, and when a need waits for an approver: pure rules."""

from __future__ import annotations

from decimal import Decimal

from domain.actions import ACTIONS, Who, answers_task, find
from domain.money import Money
from domain.org_roles import need_budget, needs_approval
from tests.workflows.conftest import make_need

NEED = make_need(budget_max=Decimal("1200"), duration_days=30)  # at most 36000 EUR


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def test_a_need_waits_for_an_approver_only_above_the_threshold() -> None:
    assert need_budget(NEED) == eur("36000.00")
    assert not needs_approval(NEED, None), "no threshold: no approval step"
    assert not needs_approval(NEED, eur("36000.00")), "at the threshold: within it"
    assert needs_approval(NEED, eur("35999.99"))
    assert not needs_approval(NEED, eur("1000"), approved=eur("36000.00")), "approved already at this budget"
    assert needs_approval(NEED, eur("1000"), approved=eur("30000.00")), "revised above what was approved"
    usd = Money(amount=Decimal("1000000"), currency="USD")
    assert needs_approval(NEED, usd), "a threshold that cannot be compared here: it waits (fail closed)"


def test_each_role_takes_its_own_actions() -> None:
    takes = {
        role: {a.name for a in ACTIONS if a.who in (Who.CLIENT, Who.PARTY) and a.allows("client", role)}
        for role in ("admin", "buyer", "approver", "finance", None)
    }
    assert takes["admin"] == {a.name for a in ACTIONS if a.who in (Who.CLIENT, Who.PARTY)}, "the admin does all"
    assert "client:select_proposal" in takes["buyer"] and "client:approve_budget" not in takes["buyer"]
    assert takes["approver"] == {"client:approve_budget", "client:reject_budget"}
    assert takes["finance"] == {"party:milestone_confirm_payment"}
    assert takes[None] == set(), "a member without a role takes nothing"
    assert find(Who.EXPERT, "submit_proposal").allows("expert"), "experts have no organisation role"


def test_a_task_reaches_the_members_who_may_answer_it() -> None:
    assert answers_task("client", "approver", "approve_budget")
    assert not answers_task("client", "buyer", "approve_budget")
    assert answers_task("client", "finance", "confirm_payment")
    assert not answers_task("client", "finance", "select_proposal")
    assert answers_task("client", "buyer", "revise_budget")
    assert answers_task("client", "finance", "a_kind_no_action_completes"), "everybody's"
    assert answers_task("expert", None, "submit_proposal") and answers_task("ops", None, "qualify_need")
