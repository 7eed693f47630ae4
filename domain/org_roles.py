"""The roles of the people of a client organisation, and what each may do: pure code.

The first person who registers an organisation is its admin; the admin invites colleagues with a role and may
change it later. Every door asks these sets (api.service, the mission routes, the inbox, the notices): an action
of `domain.actions` names the roles that may take it, and a task is shown and told to the roles that may answer it.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from domain.money import Money
from domain.need import Need


class OrgRole(StrEnum):
    ADMIN = "admin"  # manages the members and the approval threshold; can do what a buyer does
    BUYER = "buyer"  # posts needs and runs the missions
    APPROVER = "approver"  # approves the budget of a need above the organisation's threshold
    FINANCE = "finance"  # sees invoices and documents, confirms payments; neither posts a need nor runs a mission


RUNS_MISSIONS: frozenset[OrgRole] = frozenset({OrgRole.ADMIN, OrgRole.BUYER})
APPROVES: frozenset[OrgRole] = frozenset({OrgRole.ADMIN, OrgRole.APPROVER})
PAYS: frozenset[OrgRole] = frozenset({OrgRole.ADMIN, OrgRole.FINANCE})
MANAGES: frozenset[OrgRole] = frozenset({OrgRole.ADMIN})


def org_role_of(value: str | None) -> OrgRole | None:
    try:
        return OrgRole(value) if value else None
    except ValueError:
        return None


def may(value: str | None, roles: frozenset[OrgRole]) -> bool:
    """Whether a member with this role (as stored; None or unknown: no role) is one of `roles`."""
    role = org_role_of(value)
    return role is not None and role in roles


def names(roles: frozenset[OrgRole]) -> str:
    """`roles` as a reason says them: 'admin or buyer'."""
    ordered = [r.value for r in OrgRole if r in roles]
    return " or ".join(ordered)


# --- the budget a need asks for, and the organisation's approval threshold ---------------------------------


def need_budget(need: Need) -> Money:
    """What a need may cost at most: the high end of its daily rate over its duration, in its currency."""
    return Money(amount=(need.budget_max * need.duration_days).quantize(Decimal("0.01")), currency=need.currency)


def needs_approval(need: Need, threshold: Money | None, approved: Money | None = None) -> bool:
    """Whether the need waits for an approver: its budget is above the threshold (a threshold in another currency
    than the need's cannot be compared here: fail closed, it waits) and above what was approved already."""
    if threshold is None:
        return False
    budget = need_budget(need)
    if approved is not None and approved.currency == budget.currency and budget.amount <= approved.amount:
        return False
    return budget.currency != threshold.currency or budget.amount > threshold.amount
