"""The onboarding part of a membership's read-model write: the member's onboarding columns, ops' decision on a legal
version (store.onboarding.apply_review) and the inbox tasks the step opens and closes. Idempotent."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.membership import membership_row
from activities.timeline import _bump_inboxes
from domain.onboarding import OnboardingProjection
from store.models.readmodel import OPS_PARTY, Task
from store.onboarding import apply_review


def apply_onboarding(s: Session, p: OnboardingProjection) -> bool:
    membership = membership_row(s, p)
    changed = (membership.onboarding_status, membership.onboarding_due_at) != (p.status.value, p.due)
    membership.onboarding_status, membership.onboarding_due_at = p.status.value, p.due
    membership.onboarding_reason = p.reason
    changed = apply_review(s, p) or changed
    inboxes: set[tuple[str, UUID]] = set()
    if p.close_tasks:
        for task in s.scalars(
            select(Task).where(Task.workflow_id == p.workflow_id, Task.key.in_(p.close_tasks), Task.closed_at.is_(None))
        ):
            task.closed_at, task.outcome = p.at, p.status.value
            inboxes.add((task.role, task.party_id or OPS_PARTY))
    for spec in p.open_tasks:
        found = s.scalar(select(Task.id).where(Task.workflow_id == p.workflow_id, Task.key == spec.key))
        if found is None:
            s.add(
                Task(
                    workflow_id=p.workflow_id, key=spec.key, mission_id=p.member_id, role=spec.role,
                    party_id=spec.party_id, action=spec.action, title=spec.title[:300], due_at=spec.due_at,
                    opened_at=p.at,
                )
            )  # fmt: skip
            inboxes.add((spec.role, spec.party_id or OPS_PARTY))
    s.flush()
    _bump_inboxes(s.connection(), inboxes)
    return changed or bool(inboxes)
