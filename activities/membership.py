"""Membership activity (missions task queue): fix a term's fee. The membership's row is written through the read
model (activities.readmodel), as the workflow's status changes."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from config.settings import Settings
from domain.membership import MembershipProjection, StartTermRequest, Term, add_year
from domain.onboarding import OnboardingProjection
from store.db import transaction
from store.models.community import Expert, Membership, Organisation


def membership_row(s: Session, request: StartTermRequest | MembershipProjection | OnboardingProjection) -> Membership:
    """The member's Membership row, locked; created (pending) on first use."""
    membership = s.scalar(select(Membership).where(Membership.member_id == request.member_id).with_for_update())
    if membership is not None:
        return membership
    member = s.get(Organisation if request.community == "client_organisation" else Expert, request.member_id)
    if member is None:
        raise ApplicationError(f"unknown {request.community} {request.member_id}", type="UnknownMember",
                               non_retryable=True)  # fmt: skip
    # the fee is fixed when the first term starts (after the onboarding): none yet
    membership = Membership(community=request.community, member_id=request.member_id, status="pending",
                            fee_schedule_version="", fee_amount=Decimal(0))  # fmt: skip
    s.add(membership)
    return membership


class MembershipActivities:
    def __init__(self, session_factory: sessionmaker[Session], settings: Settings) -> None:
        self._sessions = session_factory
        self._settings = settings

    @activity.defn
    def start_membership_term(self, request: StartTermRequest) -> Term:
        """Fix the fee of the term: the schedule carried by the workflow, or the one in force now (a renewal: the
        settings may have been reloaded since the last term)."""
        schedule = request.schedule or self._settings.fees
        fee = schedule.fee(request.community)
        with transaction(self._sessions) as s:
            membership = membership_row(s, request)
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
