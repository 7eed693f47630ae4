"""Invoice activities (documents task queue): the expert's mission invoices, the platform's fee invoices and credit
notes (Factur-X), and the ledger entry of a fee paid.

Sync methods: the worker runs them in its thread pool. Each is idempotent: a retry returns the invoice already
issued (by its idempotency key), never a second one, and the numbering stays gapless.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import cast

from sqlalchemy import select
from temporalio import activity

from activities.paperwork import DocumentWork, expert_party, fail, org_party
from documents.invoices import render_invoice, render_payment_reminder
from domain.documents import (
    CreditNoteRequest,
    FeeInvoiceRequest,
    FeePaidRequest,
    IssuedDocument,
    IssuedInvoice,
    MissionInvoiceRequest,
    PaymentReminderRequest,
)
from domain.fx import eur_rate_for_vat
from domain.invoice import Invoice, InvoiceKind, InvoiceLine, Party, PrecedingInvoice
from domain.money import Money
from domain.vat import SellerRegime, VatResolutionError, vat_between
from store.db import transaction
from store.legal import InvoiceDraft, issue_invoice, series_key
from store.models.community import Expert, Organisation
from store.models.legal import DocumentRecord, InvoiceRecord


class InvoiceActivities(DocumentWork):
    def _finish_invoice(self, record: InvoiceRecord) -> IssuedInvoice:
        """Render and store the PDF of an issued invoice once (a retry after a crash renders it then); the
        rendering and the store's write are done before the unit of work that records them."""
        stored: tuple[str, int] | None = None
        invoice: Invoice | None = None
        if record.document_id is None:
            invoice = Invoice.model_validate(record.snapshot)
            rendered = render_invoice(self._renderer, invoice, platform_name=self._settings.platform.legal_name)
            stored = self._store_pdf(rendered.pdf)
        with transaction(self._sessions) as s:
            current = s.get_one(InvoiceRecord, record.id)
            if current.document_id is None:  # not recorded by a concurrent attempt meanwhile
                if stored is None or invoice is None:  # a document is never unlinked from its invoice
                    raise RuntimeError(f"invoice {current.number} lost its document")
                doc = self._save_document(
                    s,
                    stored,
                    kind=invoice.kind,
                    language=invoice.language,
                    mission_id=current.mission_id,
                    number=current.number,
                )
                current.document_id = doc.id
                at = datetime.now().astimezone()
                kind = {
                    "mission_invoice": "mission_invoice_issued",
                    "fee_invoice": "fee_invoiced",
                    "credit_note": "credit_note_issued",
                }[invoice.kind]
                community = "mission" if current.mission_id else current.buyer_ref.split(":")[0]
                self._ledger(
                    s,
                    kind=kind,
                    community=community,
                    period=invoice.issue_date.strftime("%Y-%m"),
                    amount=invoice.total_net,
                    currency=invoice.currency,
                    reference=f"invoice:{current.number}",
                    at=at,
                )
            doc = s.get_one(DocumentRecord, current.document_id)
            return IssuedInvoice(
                document_id=doc.id,
                kind=current.kind,
                sha256=doc.sha256,
                number=current.number,
                total_excl_tax=Money(amount=current.total_excl_tax, currency=current.currency),
                total_incl_tax=Money(amount=current.total_incl_tax, currency=current.currency),
                due_date=current.due_date,
            )

    def _one_line_invoice(
        self,
        kind: InvoiceKind,
        number: str,
        request: MissionInvoiceRequest | FeeInvoiceRequest,
        *,
        seller: Party,
        regime: SellerRegime,
        buyer: Party,
        description: str,
        service_date: date,
        issued_on_behalf_by: str | None = None,
        contract_reference: str | None = None,
    ) -> Invoice:
        """An invoice of one line for `request.amount`, with the VAT treatment of the seller's supply to the buyer
        (`VatResolutionError` where none is lawful) and, for another currency than EUR, the rate its VAT is shown
        at in EUR."""
        vat = vat_between(seller.tax_party(regime), buyer.tax_party())
        eur_rate, eur_rate_date = eur_rate_for_vat(request.amount.currency, self._settings.exchange_rates.table())
        return Invoice(
            kind=kind,
            number=number,
            issue_date=request.issue_date,
            service_date=service_date,
            due_date=request.issue_date + timedelta(days=request.due_days),
            currency=request.amount.currency,
            vat_eur_rate=eur_rate,
            vat_eur_rate_date=eur_rate_date,
            language=request.language,
            seller=seller,
            buyer=buyer,
            lines=[InvoiceLine(description=description, quantity=Decimal(1), unit_price=request.amount.amount)],
            vat=vat,
            issued_on_behalf_by=issued_on_behalf_by,
            contract_reference=contract_reference,
        )

    def _issue(self, draft: InvoiceDraft) -> IssuedInvoice:
        try:
            record, _created = issue_invoice(self._sessions, draft)
        except VatResolutionError as error:
            raise fail(str(error), "VatResolution") from error
        return self._finish_invoice(record)

    @activity.defn
    def issue_mission_invoice(self, request: MissionInvoiceRequest) -> IssuedInvoice:
        """The expert's invoice to the client for one accepted milestone, issued under the billing mandate."""
        with self._sessions() as s:
            expert, org = s.get(Expert, request.expert_id), s.get(Organisation, request.client_org_id)
            if expert is None or org is None:
                raise fail("unknown expert or client organisation", "UnknownParty")
            if expert.billing_mandate_accepted_on is None:
                raise fail("the expert has not accepted the billing mandate", "NoBillingMandate")
            seller, buyer = expert_party(s, expert), org_party(org)
            regime = cast(SellerRegime, expert.vat_regime)  # one of them: checked at registration
        platform = self._settings.platform.legal_name

        def build(number: str) -> Invoice:
            return self._one_line_invoice(
                "mission_invoice",
                number,
                request,
                seller=seller,
                regime=regime,
                buyer=buyer,
                description=request.description,
                service_date=request.service_date,
                issued_on_behalf_by=platform,
                contract_reference=str(request.contract_id)[:35],
            )

        series = series_key("FA", expert.id.hex[:10].upper(), request.issue_date.year)
        return self._issue(
            InvoiceDraft(
                idempotency_key=request.milestone_id,
                series=series,
                seller_ref=f"expert:{expert.id}",
                buyer_ref=f"client_organisation:{org.id}",
                build=build,
                mission_id=request.mission_id,
            )
        )

    @activity.defn
    def issue_fee_invoice(self, request: FeeInvoiceRequest) -> IssuedInvoice:
        """The platform's registration fee invoice to a member (its own numbering series)."""
        with self._sessions() as s:
            if request.community == "client_organisation":
                org = s.get(Organisation, request.member_id)
                buyer = org_party(org) if org else None
            else:
                expert = s.get(Expert, request.member_id)
                buyer = expert_party(s, expert) if expert else None
        if buyer is None:
            raise fail("unknown member", "UnknownParty")
        seller, fr = self._platform, request.language == "fr"

        def build(number: str) -> Invoice:
            period = f"{request.term_start.isoformat()} – {request.term_end.isoformat()}"
            description = f"{'Cotisation annuelle' if fr else 'Yearly registration fee'} {period}"
            return self._one_line_invoice(
                "fee_invoice",
                number,
                request,
                seller=seller,
                regime="vat_registered",
                buyer=buyer,
                description=description,
                service_date=request.term_start,
            )

        return self._issue(
            InvoiceDraft(
                idempotency_key=request.term_key,
                series=series_key("FP", "PLATFORM", request.issue_date.year),
                seller_ref="platform",
                buyer_ref=f"{request.community}:{request.member_id}",
                build=build,
            )
        )

    @activity.defn
    def issue_credit_note(self, request: CreditNoteRequest) -> IssuedInvoice:
        """Cancel an issued invoice in full (a correction is a credit note plus a new invoice, never an edit)."""
        with self._sessions() as s:
            original = s.scalar(select(InvoiceRecord).where(InvoiceRecord.number == request.invoice_number))
            if original is None:
                raise fail(f"unknown invoice {request.invoice_number}", "UnknownInvoice")
            source = Invoice.model_validate(original.snapshot)
            original_id, seller_ref, buyer_ref, mission_id = (
                original.id,
                original.seller_ref,
                original.buyer_ref,
                original.mission_id,
            )
        seller_key = original.series.split("-")[1]

        def build(number: str) -> Invoice:
            data = source.model_dump()
            data.update(
                kind="credit_note",
                type_code="381",
                number=number,
                issue_date=request.issue_date,
                due_date=max(request.issue_date, source.due_date),
                preceding_invoice=PrecedingInvoice(number=source.number, issue_date=source.issue_date),
            )
            return Invoice.model_validate(data)

        return self._issue(
            InvoiceDraft(
                idempotency_key=request.idempotency_key,
                series=series_key("AV", seller_key, request.issue_date.year),
                seller_ref=seller_ref,
                buyer_ref=buyer_ref,
                build=build,
                mission_id=mission_id,
                corrects_invoice_id=original_id,
            )
        )

    @activity.defn
    def issue_payment_reminder(self, request: PaymentReminderRequest) -> IssuedDocument:
        """The reminder document of an unpaid invoice, with the late-payment interest and the 40 EUR recovery
        indemnity owed on its issue date; once per reminder number (a retry returns the one issued)."""
        number = f"{request.invoice_number}-R{request.reminder}"
        with self._sessions() as s:
            done = s.scalar(
                select(DocumentRecord).where(DocumentRecord.kind == "payment_reminder", DocumentRecord.number == number)
            )
            if done is not None:
                return IssuedDocument(document_id=done.id, kind="payment_reminder", sha256=done.sha256, number=number)
            original = s.scalar(select(InvoiceRecord).where(InvoiceRecord.number == request.invoice_number))
            if original is None:
                raise fail(f"unknown invoice {request.invoice_number}", "UnknownInvoice")
            invoice, mission_id = Invoice.model_validate(original.snapshot), original.mission_id
        platform = self._settings.platform.legal_name
        pdf = render_payment_reminder(self._renderer, invoice, on=request.issue_date, platform_name=platform)
        stored = self._store_pdf(pdf)
        with transaction(self._sessions) as s:
            doc = s.scalar(
                select(DocumentRecord).where(DocumentRecord.kind == "payment_reminder", DocumentRecord.number == number)
            )
            if doc is None:  # not recorded by a concurrent attempt meanwhile
                doc = self._save_document(
                    s, stored, kind="payment_reminder", language=invoice.language, mission_id=mission_id, number=number
                )
            return IssuedDocument(document_id=doc.id, kind="payment_reminder", sha256=doc.sha256, number=number)

    @activity.defn
    def record_fee_paid(self, request: FeePaidRequest) -> bool:
        """Ledger entry for a collected fee (idempotent per invoice)."""
        with transaction(self._sessions) as s:
            invoice = s.scalar(select(InvoiceRecord).where(InvoiceRecord.number == request.invoice_number))
            if invoice is None or invoice.kind != "fee_invoice":
                raise fail(f"unknown fee invoice {request.invoice_number}", "UnknownInvoice")
            at = datetime.now().astimezone()
            self._ledger(
                s,
                kind="fee_paid",
                community=invoice.buyer_ref.split(":")[0],
                period=request.paid_on.strftime("%Y-%m"),
                amount=invoice.total_excl_tax,
                currency=invoice.currency,
                reference=f"paid:{invoice.number}",
                at=at,
            )
            return True
