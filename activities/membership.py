"""Membership activities (missions task queue): fix a term's fee and project the status to the Membership row
(and to Expert.membership_active, which matching filters on). Both are idempotent: a retry writes the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from config.settings import Settings
from domain.membership import (
    FeeSchedule,
    MembershipProjection,
    MembershipStatus,
    StartTermRequest,
    Term,
    add_year,
)
from store.db import transaction
from store.models.community import Expert, Membership, Organisation


class MembershipActivities:
    def __init__(self, session_factory: sessionmaker[Session], settings: Settings) -> None:
        self._sessions = session_factory
        self._settings = settings

    def all(self) -> list[Callable[..., Any]]:
        """The activities to register on the missions task queue (sync: give the worker a thread pool)."""
        return [self.start_term, self.project]

    def current_schedule(self) -> FeeSchedule:
        """The fee schedule in force now (the settings may be reloaded between two renewals)."""
        return FeeSchedule.model_validate(self._settings.fees.model_dump())

    def _membership(self, s: Session, request: StartTermRequest | MembershipProjection) -> Membership:
        membership = s.scalar(select(Membership).where(Membership.member_id == request.member_id).with_for_update())
        if membership is not None:
            return membership
        member = s.get(Organisation if request.community == "client_organisation" else Expert, request.member_id)
        if member is None:
            raise ApplicationError(f"unknown {request.community} {request.member_id}", type="UnknownMember",
                                   non_retryable=True)  # fmt: skip
        membership = Membership(community=request.community, member_id=request.member_id, status="pending")
        s.add(membership)
        return membership

    @activity.defn(name="start_membership_term")
    def start_term(self, request: StartTermRequest) -> Term:
        """Fix the fee of the term: the schedule carried by the workflow, or the one in force now (renewal)."""
        schedule = request.schedule or self.current_schedule()
        fee = schedule.fee(request.community)
        with transaction(self._sessions) as s:
            membership = self._membership(s, request)
            if membership.term_start == request.term_start and membership.fee_schedule_version:
                # a retry: the term was fixed already, keep its price
                fee = fee.model_copy(update={"amount": membership.fee_amount, "currency": membership.currency})
                version = membership.fee_schedule_version
            else:
                membership.fee_schedule_version, membership.fee_amount = schedule.version, fee.amount
                membership.currency, membership.term_start = fee.currency, request.term_start
                membership.term_end = add_year(request.term_start)
                version = schedule.version
            s.flush()
            return Term(
                membership_id=membership.id,
                number=request.term,
                start=request.term_start,
                end=add_year(request.term_start),
                schedule_version=version,
                fee=fee,
            )

    @activity.defn(name="project_membership")
    def project(self, p: MembershipProjection) -> bool:
        """Write the status the API checks; an expert's matching flag follows (lapsed: out of matching)."""
        with transaction(self._sessions) as s:
            membership = self._membership(s, p)
            changed = membership.status != p.status.value
            membership.status = p.status.value
            membership.fee_schedule_version, membership.fee_amount = p.term.schedule_version, p.term.fee.amount
            membership.currency, membership.term_start, membership.term_end = (
                p.term.fee.currency,
                p.term.start,
                p.term.end,
            )
            if p.community == "expert" and p.status is not MembershipStatus.PENDING:
                expert = s.get(Expert, p.member_id)
                if expert is not None:
                    expert.membership_active = p.status is MembershipStatus.ACTIVE
            return changed
