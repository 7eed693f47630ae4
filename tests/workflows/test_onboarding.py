"""The onboarding of a new member in MembershipWorkflow, on the time-skipping server with the real activities: no fee
invoice before ops approved the member's legal data; changes asked with a reason, then resubmitted; the reminder
and the expiry of the member's deadline; a later change of legal data reviewed the same way, in force for the next
invoices only (an issued invoice keeps what it was issued with)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from domain.actors import Actor, Role
from domain.membership import MembershipStatus, MembershipView
from domain.onboarding import ApproveLegalData, OnboardingStatus, RequestLegalChanges, SubmitLegalData
from store.db import transaction
from store.models.community import Expert
from store.models.legal import InvoiceRecord
from store.models.onboarding import LegalVersion
from store.models.readmodel import Notification, Task
from store.onboarding import current_legal_data, save_draft, submit_version
from tests.workflows.test_membership import (  # noqa: F401  (fixtures)
    OPS,
    Members,
    confirm,
    members,
    new_expert,
    new_organisation,
    own_clock,
    poll,
    renderer,
)
from workflows.membership import MembershipWorkflow

pytestmark = pytest.mark.db


def open_tasks(h: Members, member_id: uuid.UUID | None, role: str) -> list[str]:
    with h.sessions() as s:
        query = select(Task.action).where(Task.role == role, Task.closed_at.is_(None))
        query = query.where(Task.party_id == member_id if member_id else Task.mission_id.is_not(None))
        return list(s.scalars(query))


async def notices(
    h: Members, member_id: uuid.UUID | None, kind: str, count: int, *, workflow_id: str = ""
) -> list[Notification]:
    """The member's notices of this kind (or, with `workflow_id`, the workflow's: ops' have no party)."""

    def found() -> list[Notification]:
        if not workflow_id:
            assert member_id is not None
            return h.notices(member_id, kind)
        with h.sessions() as s:
            query = select(Notification).where(Notification.workflow_id == workflow_id, Notification.kind == kind)
            return list(s.scalars(query))

    told: list[Notification] = await poll(lambda: asyncio.sleep(0, found()), lambda n: len(n) == count, 10)
    return told


def invoices_of(h: Members, member_id: uuid.UUID) -> list[InvoiceRecord]:
    with h.sessions() as s:
        query = select(InvoiceRecord).where(InvoiceRecord.buyer_ref == f"expert:{member_id}")
        return list(s.scalars(query.order_by(InvoiceRecord.issue_date)))


def change_name(h: Members, expert_id: uuid.UUID, legal_name: str) -> None:
    with transaction(h.sessions) as s:
        data = current_legal_data(s, "expert", expert_id) | {"legal_name": legal_name}
        save_draft(s, community="expert", member_id=expert_id, data=data)


async def state(handle: WorkflowHandle[Any, MembershipView]) -> MembershipView:
    view: MembershipView = await handle.query(MembershipWorkflow.state)
    return view


async def test_no_fee_invoice_until_ops_approve_then_the_fee_activates(members: Members) -> None:  # noqa: F811
    expert_id = new_expert(members.sessions)
    handle = await members.start("expert", expert_id, vet=False)
    view = await members.until(handle, lambda v: v.onboarding.due is not None)
    assert view.onboarding.status is OnboardingStatus.PROFILE
    assert members.membership(expert_id).onboarding_status == "profile"
    assert open_tasks(members, expert_id, "expert") == ["complete_onboarding"]

    await members.submit(handle, "expert", expert_id)
    await members.env.sleep(timedelta(days=2))
    view = await state(handle)
    assert view.onboarding.status is OnboardingStatus.AWAITING_REVIEW and view.invoice is None
    assert open_tasks(members, expert_id, "expert") == []  # submitted: the member's task is done
    assert "review_member" in open_tasks(members, None, "ops")
    assert invoices_of(members, expert_id) == []
    await members.env.sleep(timedelta(days=1, hours=1))  # ops have 3 days: they are told once it is late
    late = await notices(members, None, "onboarding_review_late", 1, workflow_id=handle.id)
    assert late[0].role == "ops" and late[0].params["version"] == "1"

    approved = await members.approve(handle)
    assert approved.onboarding.status is OnboardingStatus.APPROVED and approved.onboarding.approved_version == 1
    await notices(members, expert_id, "onboarding_approved", 1)
    invoiced = await members.invoiced(handle)  # the fee is invoiced only now
    assert invoiced.status is MembershipStatus.PENDING
    paid = await handle.execute_update(MembershipWorkflow.confirm_fee_payment, confirm(invoiced))
    assert paid.status is MembershipStatus.ACTIVE
    with members.sessions() as s:
        assert s.get_one(Expert, expert_id).membership_active is True  # matched from now on
        assert s.scalars(select(LegalVersion.status).where(LegalVersion.member_id == expert_id)).all() == ["approved"]


async def test_changes_requested_with_a_reason_then_resubmitted_and_approved(members: Members) -> None:  # noqa: F811
    expert_id = new_expert(members.sessions)
    handle = await members.start("expert", expert_id, vet=False)
    first = await members.submit(handle, "expert", expert_id)
    assert first.onboarding.version_id is not None
    ask = RequestLegalChanges(actor=OPS, version_id=first.onboarding.version_id, reason="The RIB is not in your name")
    asked = await handle.execute_update(MembershipWorkflow.request_legal_changes, ask)

    assert asked.onboarding.status is OnboardingStatus.CHANGES_REQUESTED
    assert asked.onboarding.due is not None  # 14 days to fix
    told = await notices(members, expert_id, "onboarding_changes_requested", 1)
    assert told[0].params["reason"] == "The RIB is not in your name"
    assert open_tasks(members, expert_id, "expert") == ["fix_onboarding"]
    assert members.membership(expert_id).onboarding_reason == "The RIB is not in your name"
    with pytest.raises(WorkflowUpdateFailedError) as refused:  # nothing waits for review any more
        await handle.execute_update(MembershipWorkflow.approve_legal_data, ApproveLegalData(
            actor=OPS, version_id=first.onboarding.version_id))  # fmt: skip
    assert "nothing to review" in str(refused.value.cause)

    change_name(members, expert_id, "Jean Martin Conseil")
    second = await members.submit(handle, "expert", expert_id)
    assert (second.onboarding.status, second.onboarding.version) == (OnboardingStatus.AWAITING_REVIEW, 2)
    await members.approve(handle)
    invoiced = await members.invoiced(handle)
    assert invoiced.invoice is not None
    with members.sessions() as s:
        statuses = s.scalars(
            select(LegalVersion.status).where(LegalVersion.member_id == expert_id).order_by(LegalVersion.version)
        ).all()
        assert statuses == ["changes_requested", "approved"]
        assert s.get_one(Expert, expert_id).legal_name == "Jean Martin Conseil"
    assert invoices_of(members, expert_id)[0].snapshot["buyer"]["name"] == "Jean Martin Conseil"


async def test_a_reminder_before_the_deadline_then_the_onboarding_expires_uninvoiced(members: Members) -> None:  # noqa: F811
    org_id = new_organisation(members.sessions)
    handle = await members.start("client_organisation", org_id, vet=False)
    await members.until(handle, lambda v: v.onboarding.due is not None)

    await members.env.sleep(timedelta(days=26, hours=23))
    assert members.notices(org_id, "onboarding_reminder") == []
    await members.env.sleep(timedelta(hours=2))  # 3 days before the 30-day deadline
    await notices(members, org_id, "onboarding_reminder", 1)
    assert (await state(handle)).onboarding.status is OnboardingStatus.PROFILE

    await members.env.sleep(timedelta(days=3))
    ended: MembershipView = await handle.result()
    assert ended.onboarding.status is OnboardingStatus.EXPIRED and ended.invoice is None
    await notices(members, org_id, "onboarding_expired", 1)
    row = members.membership(org_id)
    assert (row.onboarding_status, row.status) == ("expired", "pending")
    assert open_tasks(members, org_id, "client") == []


async def test_a_later_change_is_reviewed_and_only_future_invoices_use_it(members: Members) -> None:  # noqa: F811
    expert_id = new_expert(members.sessions)
    handle = await members.start("expert", expert_id)  # vetted
    first = await members.invoiced(handle)
    await handle.execute_update(MembershipWorkflow.confirm_fee_payment, confirm(first))

    change_name(members, expert_id, "Martin Stratégie EURL")
    submitted = await members.submit(handle, "expert", expert_id)
    assert submitted.onboarding.status is OnboardingStatus.AWAITING_REVIEW
    assert submitted.status is MembershipStatus.ACTIVE  # still active during the review
    with members.sessions() as s:
        assert s.get_one(Expert, expert_id).legal_name == "Jean Martin"  # not in force before approval
    member = Actor(user_id=uuid.uuid4(), role=Role.EXPERT, expert_id=expert_id)
    with transaction(members.sessions) as s:
        third = submit_version(s, community="expert", member_id=expert_id, now=datetime.now(UTC))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            MembershipWorkflow.submit_legal_data, SubmitLegalData(actor=member, version_id=third.id, version=3)
        )
    assert "already under review" in str(refused.value.cause)
    stranger = Actor(user_id=uuid.uuid4(), role=Role.EXPERT, expert_id=uuid.uuid4())
    assert submitted.onboarding.version_id is not None
    with pytest.raises(WorkflowUpdateFailedError) as not_ops:
        await handle.execute_update(MembershipWorkflow.approve_legal_data, ApproveLegalData(
            actor=stranger, version_id=submitted.onboarding.version_id))  # fmt: skip
    assert "only platform staff" in str(not_ops.value.cause)

    await members.approve(handle)
    with members.sessions() as s:
        assert s.get_one(Expert, expert_id).legal_name == "Martin Stratégie EURL"
    await members.env.sleep(timedelta(days=366))
    await members.until(handle, lambda v: v.term is not None and v.term.number == 2 and v.invoice is not None)
    names = [i.snapshot["buyer"]["name"] for i in invoices_of(members, expert_id)]
    assert names == ["Jean Martin", "Martin Stratégie EURL"]  # the issued invoice never changed
