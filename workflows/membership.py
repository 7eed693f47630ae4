"""MembershipWorkflow (id `membership:{member_id}`): one per client organisation or expert, for years.

A new member is vetted first (workflows.onboarding): it submits its legal data and proofs, ops approve them or ask
for changes; only then is its first fee invoiced. Later changes of its legal data go through the same review, at
any time of a term.

Per term: fix the fee (schedule version in force when the term starts), issue the fee invoice, remind at 7 and
14 days, lapse at 30 days unpaid; ops confirm the payment (update `confirm_fee_payment`), which records it in
the transparency ledger and activates the member. At the end of a paid term the workflow continues as new for
the next term, whose fee is read from the settings in force then. A term that ends unpaid ends the workflow
(the member stays lapsed; registering again starts a new one).

Changing this code: see "Changing a workflow" in the README (memberships run for a year between two
continue-as-new: after the first release, a change of the commands a running membership emits needs a patch).
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Literal
from uuid import UUID

from temporalio import workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.common import RetryPolicy, WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from workflows.onboarding import Onboarding
from workflows.readmodel import ReadModel, ops_audited

with workflow.unsafe.imports_passed_through():
    from activities.invoices import InvoiceActivities
    from activities.membership import MembershipActivities
    from activities.projection import ReadModelWrite
    from domain.documents import FeeInvoiceRequest, FeePaidRequest
    from domain.membership import (
        Community,
        ConfirmFeePayment,
        FeeInvoice,
        MembershipProjection,
        MembershipStatus,
        MembershipView,
        StartMembership,
        StartTermRequest,
        can_move,
        check_confirm,
        membership_workflow_id,
    )
    from domain.onboarding import (
        ApproveLegalData,
        OnboardingStatus,
        OnboardingView,
        RequestLegalChanges,
        SubmitLegalData,
        check_review,
        check_submit,
    )

if TYPE_CHECKING:
    from config.settings import Settings

TERM_TIMEOUT = timedelta(seconds=30)
# fixing a term's fee, issuing or recording its invoice must eventually succeed: retry for as long as it takes (a
# member's fee is not parked in needs_attention; ops see the retries in the Temporal UI)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
# rendering and recording take well under a second: a worker that died holding one is noticed after this timeout
DOCUMENTS_TIMEOUT = timedelta(seconds=30)


class IllegalMove(RuntimeError):
    """A bug, not a user error: it fails the workflow task (retried) until a fixed worker runs it."""


@workflow.defn(name="MembershipWorkflow")
class MembershipWorkflow:
    @workflow.init
    def __init__(self, inp: StartMembership) -> None:
        self.inp = inp
        self.view = MembershipView(
            workflow_id=workflow.info().workflow_id,
            member_id=inp.member_id,
            community=inp.community,
            status=inp.status,
        )
        self.readmodel = ReadModel(self.view.workflow_id, inp.member_id)
        new_member = inp.term == 1 and inp.status is MembershipStatus.PENDING
        self.view.onboarding = inp.onboarding or (
            OnboardingView() if new_member else OnboardingView(status=OnboardingStatus.APPROVED)
        )
        self.onboarding = Onboarding(
            self.view.onboarding, inp.member_id, inp.community, self.readmodel, inp.onboarding_policy
        )

    @workflow.run
    async def run(self, inp: StartMembership) -> MembershipView:
        vetting = self.view.onboarding
        reviews = asyncio.ensure_future(self.onboarding.run())
        if vetting.status is OnboardingStatus.PROFILE and vetting.due is None:
            await self.onboarding.begin()
        # vetted first: no fee invoice before ops approved the member's legal data
        await workflow.wait_condition(
            lambda: (
                vetting.approved_version is not None
                or vetting.status in (OnboardingStatus.APPROVED, OnboardingStatus.EXPIRED)
            )
        )
        if vetting.status is OnboardingStatus.EXPIRED:
            await reviews  # the member is told
            await workflow.wait_condition(workflow.all_handlers_finished)
            await self.readmodel.notices_delivered()
            return self.view
        request = StartTermRequest(
            member_id=inp.member_id,
            community=inp.community,
            term=inp.term,
            term_start=inp.term_start or workflow.now().date(),
            schedule=inp.schedule,
        )
        term = self.view.term = await workflow.execute_activity_method(
            MembershipActivities.start_membership_term, request, start_to_close_timeout=TERM_TIMEOUT, retry_policy=RETRY
        )
        await self._record()
        await self._issue_invoice()
        await self._collect()
        term_end = datetime.combine(term.end, time(), tzinfo=UTC)
        self.view.renewal_at = term_end
        await self._paid_before(term_end)  # a lapsed member may still pay late during the term
        if term_end > workflow.now():
            await workflow.sleep(term_end - workflow.now())
        await workflow.wait_condition(workflow.all_handlers_finished)
        reviews.cancel()
        await self.readmodel.notices_delivered()
        if self.view.paid_on is None:
            return self.view  # the term ended unpaid: the membership stays lapsed
        workflow.continue_as_new(
            StartMembership(
                member_id=inp.member_id,
                community=inp.community,
                language=inp.language,
                schedule=None,  # the next term takes the fee schedule in force at renewal
                term=term.number + 1,
                term_start=term.end,
                status=self.view.status,
                policy=inp.policy,
                documents_task_queue=inp.documents_task_queue,
                onboarding=self.view.onboarding,
                onboarding_policy=inp.onboarding_policy,
            )
        )

    # --- steps ------------------------------------------------------------------------------------------

    async def _issue_invoice(self) -> None:
        term = self.view.term
        assert term is not None
        request = FeeInvoiceRequest(
            membership_id=term.membership_id,
            term_key=f"{self.view.workflow_id}:term:{term.start.isoformat()}",
            community=self.inp.community,
            member_id=self.inp.member_id,
            amount=term.fee,
            term_start=term.start,
            term_end=term.end,
            issue_date=workflow.now().date(),
            due_days=self.inp.policy.invoice_due_days,
            language=self.inp.language,
        )
        issued = await workflow.execute_activity_method(
            InvoiceActivities.issue_fee_invoice,
            request,
            task_queue=self.inp.documents_task_queue,
            start_to_close_timeout=DOCUMENTS_TIMEOUT,
            retry_policy=RETRY,
        )
        assert issued.number is not None
        self.view.invoice = FeeInvoice(
            number=issued.number,
            document_id=issued.document_id,
            total_excl_tax=issued.total_excl_tax,
            total_incl_tax=issued.total_incl_tax,
            due_date=issued.due_date,
            issued_at=workflow.now(),
        )

    async def _collect(self) -> None:
        """Reminders at the policy's delays after the invoice, then the lapse, unless paid before."""
        assert self.view.invoice is not None
        issued_at = self.view.invoice.issued_at
        self.view.lapse_at = issued_at + self.inp.policy.lapse_after
        for after in self.inp.policy.reminders:
            if await self._paid_before(issued_at + after):
                return
            self.view.reminders_sent += 1
            await self._notify(f"reminder:{self.view.reminders_sent}", "fee_payment_reminder")
        if await self._paid_before(self.view.lapse_at):
            return
        await self._transition(MembershipStatus.LAPSED)
        await self._notify("lapsed", "membership_lapsed")

    async def _paid_before(self, moment: datetime) -> bool:
        remaining = moment - workflow.now()
        if remaining > timedelta(0):
            with suppress(TimeoutError):
                await workflow.wait_condition(lambda: self.view.paid_on is not None, timeout=remaining)
        return self.view.paid_on is not None

    # --- the one door ----------------------------------------------------------------------------------

    async def _transition(self, to: MembershipStatus) -> None:
        if not can_move(self.view.status, to):
            raise IllegalMove(f"{self.view.status} -> {to} not allowed")
        self.view.status = to
        await self._record()

    async def _record(self) -> None:
        """The member's row in the read model: the status the API checks, the term and its fee."""
        assert self.view.term is not None
        row = MembershipProjection(
            workflow_id=self.view.workflow_id,
            member_id=self.inp.member_id,
            community=self.inp.community,
            status=self.view.status,
            term=self.view.term,
        )
        await self.readmodel.write(ReadModelWrite(membership=row))

    async def _notify(self, key: str, kind: str) -> None:
        assert self.view.term is not None and self.view.invoice is not None
        invoice = self.view.invoice
        params = {
            "invoice_number": invoice.number,
            "amount": str(invoice.total_incl_tax.amount),
            "currency": invoice.total_incl_tax.currency,
            "due": invoice.due_date.isoformat(),
        }
        role: Literal["client", "expert"] = "client" if self.inp.community == "client_organisation" else "expert"
        key = f"term:{self.view.term.number}:{key}"
        await self.readmodel.notify(key, role, self.inp.member_id, kind, params)

    # --- queries and updates ---------------------------------------------------------------------------

    @workflow.query
    def state(self) -> MembershipView:
        return self.view

    @workflow.update
    async def confirm_fee_payment(self, cmd: ConfirmFeePayment) -> MembershipView:
        self.view.paid_on = cmd.paid_on  # first: a second confirmation is refused by the validator at once
        assert self.view.invoice is not None
        await workflow.execute_activity_method(
            InvoiceActivities.record_fee_paid,
            FeePaidRequest(invoice_number=self.view.invoice.number, paid_on=cmd.paid_on),
            task_queue=self.inp.documents_task_queue,
            start_to_close_timeout=DOCUMENTS_TIMEOUT,
            retry_policy=RETRY,
        )
        if self.view.status is not MembershipStatus.ACTIVE:
            await self._transition(MembershipStatus.ACTIVE)
        return self.view

    @confirm_fee_payment.validator
    def _can_confirm(self, cmd: ConfirmFeePayment) -> None:
        check_confirm(self.view, cmd, workflow.now())

    # --- the review of the member's legal data (workflows.onboarding) ------------------------------------------

    @workflow.update
    async def submit_legal_data(self, cmd: SubmitLegalData) -> MembershipView:
        await self.onboarding.submitted(cmd.version_id, cmd.version)
        return self.view

    @submit_legal_data.validator
    def _can_submit(self, cmd: SubmitLegalData) -> None:
        check_submit(self.view.onboarding, cmd, self.inp.member_id)

    @workflow.update
    @ops_audited
    async def approve_legal_data(self, cmd: ApproveLegalData) -> MembershipView:
        await self.onboarding.approved(cmd.actor)
        return self.view

    @approve_legal_data.validator
    def _can_approve(self, cmd: ApproveLegalData) -> None:
        check_review(self.view.onboarding, cmd.actor, cmd.version_id)

    @workflow.update
    @ops_audited
    async def request_legal_changes(self, cmd: RequestLegalChanges) -> MembershipView:
        await self.onboarding.changes_requested(cmd.actor, cmd.reason)
        return self.view

    @request_legal_changes.validator
    def _can_request_changes(self, cmd: RequestLegalChanges) -> None:
        check_review(self.view.onboarding, cmd.actor, cmd.version_id)


# --- starting it ----------------------------------------------------------------------------------------


async def start_membership(
    client: Client, settings: Settings, community: Community, member_id: UUID, *, language: str = "fr"
) -> WorkflowHandle[MembershipWorkflow, MembershipView]:
    """Start `membership:{member_id}` at registration, at the fee schedule of `settings` (the one the
    Membership row was created with). Idempotent: a retry finds the running workflow."""
    return await client.start_workflow(
        MembershipWorkflow.run,
        StartMembership(
            member_id=member_id,
            community=community,
            language="en" if language == "en" else "fr",
            schedule=settings.fees,
            documents_task_queue=settings.documents_task_queue,
        ),
        id=membership_workflow_id(member_id),
        task_queue=settings.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
