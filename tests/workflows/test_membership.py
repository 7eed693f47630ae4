"""MembershipWorkflow on the time-skipping server with the real activities (membership, read model, documents:
fee invoices are really issued, rendered and chained into the ledger): paid in time, reminders and lapse,
late payment, yearly renewal at the schedule in force, validators."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.documents import DocumentActivities
from activities.membership import MembershipActivities
from activities.notify import NotifyActivities
from activities.readmodel import ReadModelActivities
from config.settings import Settings
from documents.rendering import Renderer
from documents.store import LocalDocumentStore
from domain.actors import Actor, Role
from domain.membership import Community, ConfirmFeePayment, FeeSchedule, MembershipStatus, MembershipView
from domain.onboarding import ApproveLegalData, SubmitLegalData
from store.db import transaction
from store.legal import verify_ledger
from store.models.community import Expert, Membership, Organisation
from store.models.legal import InvoiceRecord, LedgerEntry
from store.models.readmodel import Notification
from store.onboarding import submit_version
from tests.conftest import start_time_skipping
from workflows.membership import MembershipWorkflow, start_membership

pytestmark = pytest.mark.db

OPS = Actor(user_id=uuid.uuid4(), role=Role.OPS)


def new_organisation(sessions: sessionmaker[Session]) -> uuid.UUID:
    with transaction(sessions) as s:
        org = Organisation(
            legal_name="Acme Industries SA", legal_form="SA", country="FR", siren="552100554",
            siret="55210055400013", vat_number="FR03552100554", address_line="25 avenue de l'Opéra",
            postcode="75001", city="Paris", billing_email="ap@acme.fr",
        )  # fmt: skip
        s.add(org)
        s.flush()
        return org.id


def new_expert(sessions: sessionmaker[Session]) -> uuid.UUID:
    with transaction(sessions) as s:
        expert = Expert(
            display_name="Jean", legal_name="Jean Martin", legal_form="EI", country="FR",
            address_line="3 rue des Lilas", postcode="33000", city="Bordeaux", daily_rate=Decimal("700"),
            available_from=date(2026, 1, 1), vat_regime="franchise_en_base", siren="542051180",
            siret="54205118000066", billing_mandate_accepted_on=date(2026, 1, 2),
        )  # fmt: skip
        s.add(expert)
        s.flush()
        return expert.id


@dataclass
class Members:
    env: WorkflowEnvironment
    settings: Settings
    sessions: sessionmaker[Session]
    started: list[WorkflowHandle[Any, MembershipView]] = field(default_factory=list)

    async def start(
        self, community: Community, member_id: uuid.UUID, *, vet: bool = True
    ) -> WorkflowHandle[Any, MembershipView]:
        """Start the member's workflow; `vet`: the member submits its legal data and ops approve it at once."""
        handle = await start_membership(self.env.client, self.settings, community, member_id)
        self.started.append(handle)
        if vet:
            await self.submit(handle, community, member_id)
            await self.approve(handle)
        return handle

    async def submit(
        self, handle: WorkflowHandle[Any, MembershipView], community: Community, member_id: uuid.UUID
    ) -> MembershipView:
        """The member submits its legal data as it stands (a new version)."""
        await self.until(handle, lambda v: v.onboarding.due is not None or v.onboarding.approved_version is not None)
        with transaction(self.sessions) as s:
            version = submit_version(s, community=community, member_id=member_id, now=datetime.now(UTC))
            version_id, number = version.id, version.version
        key = "org_id" if community == "client_organisation" else "expert_id"
        member = Actor(user_id=uuid.uuid4(), role=Role.CLIENT if key == "org_id" else Role.EXPERT, **{key: member_id})
        cmd = SubmitLegalData(actor=member, version_id=version_id, version=number)
        view: MembershipView = await handle.execute_update(MembershipWorkflow.submit_legal_data, cmd)
        return view

    async def approve(self, handle: WorkflowHandle[Any, MembershipView]) -> MembershipView:
        view = await handle.query(MembershipWorkflow.state)
        assert view.onboarding.version_id is not None
        cmd = ApproveLegalData(actor=OPS, version_id=view.onboarding.version_id)
        approved: MembershipView = await handle.execute_update(MembershipWorkflow.approve_legal_data, cmd)
        return approved

    async def stop_all(self) -> None:
        """The time-skipping server shared by the session will not skip time while a workflow of a finished test
        (whose worker is gone) has a task due: end them."""
        for handle in self.started:
            with suppress(Exception):
                await handle.terminate("test finished")

    async def until(
        self, handle: WorkflowHandle[Any, MembershipView], check: Callable[[MembershipView], bool], within: float = 30
    ) -> MembershipView:
        view: MembershipView = await poll(lambda: handle.query(MembershipWorkflow.state), check, within)
        return view

    async def invoiced(self, handle: WorkflowHandle[Any, MembershipView]) -> MembershipView:
        return await self.until(handle, lambda v: v.invoice is not None)

    def notices(self, member_id: uuid.UUID, kind: str) -> list[Notification]:
        with self.sessions() as s:
            q = select(Notification).where(Notification.party_id == member_id, Notification.kind == kind)
            return list(s.scalars(q.order_by(Notification.created_at)))

    def membership(self, member_id: uuid.UUID) -> Membership:
        with self.sessions() as s:
            return s.scalars(select(Membership).where(Membership.member_id == member_id)).one()


async def poll(get: Callable[[], Awaitable[Any]], check: Callable[[Any], bool], within: float) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await get()
        if check(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not reached in {within}s; last: {value!r:.1500}")
        await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture(scope="module")
async def own_clock() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of these tests' own: they skip days and a year, which another test's activity still
    in flight on the shared server would hold back (its clock does not skip while one runs)."""
    env = await start_time_skipping()
    yield env
    await env.shutdown()


@pytest.fixture
async def members(
    own_clock: WorkflowEnvironment,
    task_queue: str,
    session_factory: sessionmaker[Session],
    renderer: Renderer,
    tmp_path: Path,
) -> AsyncIterator[Members]:
    settings = Settings(
        environment="test", task_queue=task_queue, documents_task_queue=task_queue, keys_dir=tmp_path / "keys",
        document_store=f"file://{tmp_path / 'docs'}",
    )  # fmt: skip
    docs = DocumentActivities(session_factory, LocalDocumentStore(tmp_path / "docs"), renderer, settings)
    membership = MembershipActivities(session_factory, settings)
    with ThreadPoolExecutor(max_workers=4) as pool:
        async with Worker(
            own_clock.client,
            task_queue=task_queue,
            workflows=[MembershipWorkflow],
            activities=[
                membership.start_membership_term,
                ReadModelActivities(session_factory).write_read_model,
                NotifyActivities(session_factory).deliver_notice,
                docs.issue_fee_invoice,
                docs.record_fee_paid,
            ],
            activity_executor=pool,
        ):
            harness = Members(own_clock, settings, session_factory)
            yield harness
            await harness.stop_all()


def confirm(view: MembershipView, **overrides: Any) -> ConfirmFeePayment:
    assert view.invoice is not None
    data: dict[str, Any] = {
        "actor": OPS,
        "invoice_number": view.invoice.number,
        "paid_on": view.invoice.issued_at.date(),
        "reference": "VIR-2026-0042",
    }
    return ConfirmFeePayment(**(data | overrides))


async def test_fee_paid_in_time_activates_the_member_and_records_it_in_the_ledger(members: Members) -> None:
    org_id = new_organisation(members.sessions)
    handle = await members.start("client_organisation", org_id)
    view = await members.invoiced(handle)
    assert view.status is MembershipStatus.PENDING
    assert view.term is not None and view.term.fee.amount == Decimal("480.00")
    assert view.invoice is not None and view.invoice.total_incl_tax.amount == Decimal("576.00")  # 20 % VAT

    await members.env.sleep(timedelta(days=3))
    paid = await handle.execute_update(MembershipWorkflow.confirm_fee_payment, confirm(view))

    assert paid.status is MembershipStatus.ACTIVE and paid.paid_on is not None
    assert members.membership(org_id).status == "active"
    with members.sessions() as s:
        entry = s.scalars(select(LedgerEntry).where(LedgerEntry.reference == f"paid:{view.invoice.number}")).one()
        assert (entry.kind, entry.community, entry.amount) == ("fee_paid", "client_organisation", Decimal("480.00"))
        assert verify_ledger(s) == []
    # paid: no reminder and no lapse ever comes
    await members.env.sleep(timedelta(days=40))
    assert members.notices(org_id, "fee_payment_reminder") == []
    assert (await handle.query(MembershipWorkflow.state)).status is MembershipStatus.ACTIVE


async def test_confirmation_is_refused_to_non_ops_twice_or_for_another_invoice(members: Members) -> None:
    org_id = new_organisation(members.sessions)
    handle = await members.start("client_organisation", org_id)
    view = await members.invoiced(handle)
    client = Actor(user_id=uuid.uuid4(), role=Role.CLIENT, org_id=org_id)
    refusals = {
        "only platform staff": confirm(view, actor=client),
        "is not the open fee invoice": confirm(view, invoice_number="FP-PLATFORM-2026-999999"),
        "in the future": confirm(view, paid_on=view.invoice.issued_at.date() + timedelta(days=30)),  # type: ignore[union-attr]
        "before the invoice": confirm(view, paid_on=view.invoice.issued_at.date() - timedelta(days=1)),  # type: ignore[union-attr]
    }
    for reason, cmd in refusals.items():
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(MembershipWorkflow.confirm_fee_payment, cmd)
        assert reason in str(refused.value.cause)
    await handle.execute_update(MembershipWorkflow.confirm_fee_payment, confirm(view))
    with pytest.raises(WorkflowUpdateFailedError) as again:
        await handle.execute_update(MembershipWorkflow.confirm_fee_payment, confirm(view))
    assert "already paid" in str(again.value.cause)


async def test_reminders_at_7_and_14_days_lapse_at_30_and_a_late_payment_reactivates(members: Members) -> None:
    expert_id = new_expert(members.sessions)
    handle = await members.start("expert", expert_id)
    view = await members.invoiced(handle)
    assert view.term is not None and view.term.fee.amount == Decimal("120.00")

    await members.env.sleep(timedelta(days=6, hours=23))
    assert members.notices(expert_id, "fee_payment_reminder") == []
    await members.env.sleep(timedelta(hours=2))  # day 7
    await poll(lambda: asyncio.sleep(0, members.notices(expert_id, "fee_payment_reminder")), lambda n: len(n) == 1, 10)
    await members.env.sleep(timedelta(days=7))  # day 14
    await poll(lambda: asyncio.sleep(0, members.notices(expert_id, "fee_payment_reminder")), lambda n: len(n) == 2, 10)
    await members.env.sleep(timedelta(days=15, hours=20))  # day 29 and 21 hours
    assert (await handle.query(MembershipWorkflow.state)).status is MembershipStatus.PENDING
    assert members.membership(expert_id).status == "pending"

    await members.env.sleep(timedelta(hours=4))  # day 30
    lapsed = await members.until(handle, lambda v: v.status is MembershipStatus.LAPSED)
    assert lapsed.reminders_sent == 2
    assert members.membership(expert_id).status == "lapsed"
    with members.sessions() as s:
        assert s.get_one(Expert, expert_id).membership_active is False  # out of matching
    assert len(members.notices(expert_id, "membership_lapsed")) == 1

    paid = await handle.execute_update(
        MembershipWorkflow.confirm_fee_payment,
        confirm(view, paid_on=view.invoice.issued_at.date() + timedelta(days=30)),  # type: ignore[union-attr]
    )
    assert paid.status is MembershipStatus.ACTIVE
    with members.sessions() as s:
        assert s.get_one(Expert, expert_id).membership_active is True


async def test_renewal_after_a_year_continues_as_new_at_the_schedule_in_force(members: Members) -> None:
    org_id = new_organisation(members.sessions)
    handle = await members.start("client_organisation", org_id)
    first = await members.invoiced(handle)
    await handle.execute_update(MembershipWorkflow.confirm_fee_payment, confirm(first))
    first_run = (await handle.describe()).run_id
    # the fees change during the term: the member keeps its price until the renewal
    members.settings.fees = FeeSchedule(version="2027-01", client_organisation=Decimal("600.00"))

    await members.env.sleep(timedelta(days=366))
    renewed = await members.until(handle, lambda v: v.term is not None and v.term.number == 2 and v.invoice is not None)

    assert first.term is not None and renewed.term is not None and renewed.invoice is not None
    assert (await handle.describe()).run_id != first_run  # continue-as-new, one history per term
    assert renewed.term.start == first.term.end
    assert (renewed.term.schedule_version, renewed.term.fee.amount) == ("2027-01", Decimal("600.00"))
    assert renewed.invoice.number != first.invoice.number  # type: ignore[union-attr]
    assert renewed.status is MembershipStatus.ACTIVE and renewed.paid_on is None  # active until it lapses
    row = members.membership(org_id)
    assert (row.fee_schedule_version, row.fee_amount, row.term_start) == ("2027-01", Decimal("600.00"), first.term.end)
    with members.sessions() as s:
        amounts = s.scalars(
            select(InvoiceRecord.total_excl_tax)
            .where(InvoiceRecord.buyer_ref == f"client_organisation:{org_id}")
            .order_by(InvoiceRecord.issue_date)
        ).all()
    assert amounts == [Decimal("480.00"), Decimal("600.00")]
