"""Document activities (task queue `settings.documents_task_queue`): contracts, signatures, invoices, ledger.

Sync methods: the worker runs them in its thread pool (CPU-heavy rendering stays off the event loop). Each is
idempotent: a retry returns the document or invoice already issued, never a second one.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import (
    ContractRequest,
    IssuedDocument,
    IssuedInvoice,
    MissionInvoiceRequest,
    SealContractRequest,
    SignContractRequest,
)
from config.settings import Settings
from documents.contracts import render_contract, terms_sha256, terms_snapshot
from documents.invoices import render_invoice
from documents.rendering import Renderer
from documents.signing import SEAL_NAME, PdfSigner
from documents.store import DocumentStore
from domain.fx import eur_rate_for_vat
from domain.invoice import Address, Invoice, InvoiceLine, Party, PrecedingInvoice
from domain.money import Money
from domain.need import Language
from domain.vat import VatResolutionError, resolve_vat
from store.db import transaction
from store.legal import InvoiceDraft, append_ledger_entry, issue_invoice, series_key
from store.models.community import Expert, Organisation, User
from store.models.legal import ConsentRecord, ContractRecord, DocumentRecord, InvoiceRecord


class FeeInvoiceRequest(BaseModel):
    membership_id: uuid.UUID
    term_key: str = Field(description="idempotency key: membership:{member_id}:term:{start}")
    community: Literal["client_organisation", "expert"]
    member_id: uuid.UUID
    amount: Money = Field(description="fee excluding tax, from the fee schedule version of the term")
    term_start: date
    term_end: date
    issue_date: date
    due_days: int = 30
    language: Language = "fr"


class CreditNoteRequest(BaseModel):
    invoice_number: str
    idempotency_key: str = Field(description="e.g. credit:{invoice number}")
    reason: str
    issue_date: date


class FeePaidRequest(BaseModel):
    invoice_number: str
    paid_on: date


def _contract_of(s: Session, mission_id: uuid.UUID, contract_id: uuid.UUID) -> ContractRecord:
    contract = s.get(ContractRecord, contract_id)
    if contract is None or contract.mission_id != mission_id:
        raise _fail("unknown contract for this mission", "UnknownContract")
    return contract


def _fail(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


def _expert_party(s: Session, expert: Expert) -> Party:
    user = s.scalar(select(User).where(User.expert_id == expert.id))
    return Party(
        name=expert.legal_name,
        legal_form=expert.legal_form,
        address=Address(line=expert.address_line, postcode=expert.postcode, city=expert.city, country=expert.country),
        siren=expert.siren,
        siret=expert.siret,
        vat_number=expert.vat_number,
        iban=expert.iban,
        electronic_address=user.email if user else f"expert-{expert.id}@invalid",
    )


def _org_party(org: Organisation) -> Party:
    return Party(
        name=org.legal_name,
        legal_form=org.legal_form,
        address=Address(line=org.address_line, postcode=org.postcode, city=org.city, country=org.country),
        siren=org.siren,
        siret=org.siret,
        vat_number=org.vat_number,
        electronic_address=org.billing_email,
    )


class DocumentActivities:
    def __init__(
        self, session_factory: sessionmaker[Session], store: DocumentStore, renderer: Renderer, settings: Settings
    ) -> None:
        self._sessions = session_factory
        self._store = store
        self._renderer = renderer
        self._settings = settings
        self._signer = PdfSigner.from_settings(settings)

    def warm_up(self) -> None:
        """Load the platform seal's signer and the timestamper now (at worker start), not at the first seal."""
        self._signer.warm_up(self._seal_name)

    @property
    def _seal_name(self) -> str:
        return f"{self._settings.platform.legal_name} seal"

    # --- helpers ----------------------------------------------------------------------------------------

    @property
    def _platform(self) -> Party:
        p = self._settings.platform
        return Party(
            name=p.legal_name,
            legal_form=p.legal_form,
            siren=p.siren,
            vat_number=p.vat_number,
            address=Address(line=p.address_line, postcode=p.postcode, city=p.city, country=p.country),
            electronic_address=p.email,
        )

    def _save_document(
        self,
        s: Session,
        stored: tuple[str, int],
        *,
        kind: str,
        language: str,
        mission_id: uuid.UUID | None,
        number: str | None = None,
        stage: str = "issued",
        previous_id: uuid.UUID | None = None,
    ) -> DocumentRecord:
        """The record of a PDF already in the store (`stored`: its SHA-256 and size, from `_store_pdf`)."""
        digest, size = stored
        record = DocumentRecord(
            kind=kind,
            sha256=digest,
            size=size,
            mission_id=mission_id,
            number=number,
            language=language,
            stage=stage,
            previous_id=previous_id,
        )
        s.add(record)
        s.flush()
        return record

    def _store_pdf(self, pdf: bytes) -> tuple[str, int]:
        """Store a PDF before the unit of work that records it: the store's durable write (fsync) is not made
        under the database's write lock, nor is the rendering or signing before it (a unit of work holds that lock
        from its start on SQLite). A unit that then finds the work done by a concurrent attempt leaves the stored
        file unreferenced, as a crash between the two would."""
        return self._store.put(pdf), len(pdf)

    def _ledger(self, s: Session, **kwargs: object) -> None:
        for _ in range(5):
            try:
                with s.begin_nested():
                    append_ledger_entry(s, **kwargs)  # type: ignore[arg-type]
                return
            except IntegrityError:
                continue  # another writer took this sequence number: chain after it
        raise RuntimeError("could not append to the transparency ledger")

    # --- contracts --------------------------------------------------------------------------------------

    def _existing_contract(self, s: Session, request: ContractRequest) -> IssuedDocument | None:
        existing = s.scalar(select(ContractRecord).where(ContractRecord.mission_id == request.mission_id))
        if existing is None:
            return None
        if existing.terms_sha256 != terms_sha256(request):
            raise _fail("the contract of this mission exists with other terms", "ContractTermsLocked")
        doc = s.get_one(DocumentRecord, existing.original_document_id)
        return IssuedDocument(document_id=existing.id, kind="contract", sha256=doc.sha256)

    @activity.defn
    def render_contract(self, request: ContractRequest) -> IssuedDocument:
        with self._sessions() as s:
            issued = self._existing_contract(s, request)
            if issued is not None:
                return issued
            org, expert = s.get(Organisation, request.client_org_id), s.get(Expert, request.expert_id)
            if org is None or expert is None:
                raise _fail("unknown client organisation or expert", "UnknownParty")
            client, consultant = _org_party(org), _expert_party(s, expert)
        pdf = render_contract(
            self._renderer,
            request,
            client=client,
            expert=consultant,
            platform_name=self._settings.platform.legal_name,
            issued_on=datetime.now().date(),
        )
        stored = self._store_pdf(pdf)
        with transaction(self._sessions) as s:
            issued = self._existing_contract(s, request)  # a concurrent attempt may have recorded it meanwhile
            if issued is not None:
                return issued
            doc = self._save_document(
                s, stored, kind="contract", language=request.language, mission_id=request.mission_id
            )
            contract = ContractRecord(
                mission_id=request.mission_id,
                client_org_id=request.client_org_id,
                expert_id=request.expert_id,
                language=request.language,
                terms=terms_snapshot(request),
                terms_sha256=terms_sha256(request),
                total_amount=request.total.amount,
                currency=request.total.currency,
                original_document_id=doc.id,
                current_document_id=doc.id,
            )
            s.add(contract)
            s.flush()
            return IssuedDocument(document_id=contract.id, kind="contract", sha256=doc.sha256)

    def _to_sign(
        self, s: Session, request: SignContractRequest
    ) -> tuple[ContractRecord, DocumentRecord] | IssuedDocument:
        """The contract and the document the party signs, or what its signature already gave."""
        contract = _contract_of(s, request.mission_id, request.contract_id)
        done = s.scalar(
            select(ConsentRecord).where(ConsentRecord.contract_id == contract.id, ConsentRecord.party == request.party)
        )
        if done is not None:
            doc = s.get_one(DocumentRecord, done.result_document_id)
            return IssuedDocument(document_id=contract.id, kind="contract", sha256=doc.sha256)
        expected_status = {"client": "rendered", "expert": "client_signed"}[request.party]
        if contract.status != expected_status:
            raise _fail(f"the {request.party} cannot sign a contract in status {contract.status}", "SignOrder")
        current = s.get_one(DocumentRecord, contract.current_document_id)
        if current.sha256 != request.expected_sha256:
            raise _fail("the document changed since the signer saw it", "DocumentChanged")
        return contract, current

    @activity.defn
    def sign_contract(self, request: SignContractRequest) -> IssuedDocument:
        """Record the party's consent and add its PAdES signature (client first, then expert)."""
        with self._sessions() as s:
            state = self._to_sign(s, request)
            if isinstance(state, IssuedDocument):
                return state
            current_sha256 = state[1].sha256
            user = s.get(User, request.signer_user_id)
            name = user.full_name if user else str(request.signer_user_id)
        signed = self._signer.sign(
            self._store.get(current_sha256),
            signer_name=f"user-{request.signer_user_id}",
            common_name=name,
            field_name=f"{request.party.capitalize()}Signature",
            reason=f"{request.party} consent, {request.signed_at.isoformat()}",
        )
        stored = self._store_pdf(signed)
        with transaction(self._sessions) as s:
            state = self._to_sign(s, request)  # the same checks: a concurrent attempt may have signed meanwhile
            if isinstance(state, IssuedDocument):
                return state
            contract, current = state
            doc = self._save_document(
                s,
                stored,
                kind="contract",
                language=contract.language,
                mission_id=contract.mission_id,
                stage=f"{request.party}_signed",
                previous_id=current.id,
            )
            s.add(
                ConsentRecord(
                    contract_id=contract.id,
                    party=request.party,
                    signer_user_id=request.signer_user_id,
                    signed_at=request.signed_at,
                    signed_document_sha256=current.sha256,
                    result_document_id=doc.id,
                )
            )
            contract.status, contract.current_document_id = f"{request.party}_signed", doc.id
            return IssuedDocument(document_id=contract.id, kind="contract", sha256=doc.sha256)

    def _to_seal(
        self, s: Session, request: SealContractRequest
    ) -> tuple[ContractRecord, DocumentRecord] | IssuedDocument:
        """The contract and the document the platform seals, or the sealed document."""
        contract = _contract_of(s, request.mission_id, request.contract_id)
        current = s.get_one(DocumentRecord, contract.current_document_id)
        if contract.status == "sealed":
            return IssuedDocument(document_id=contract.id, kind="contract", sha256=current.sha256)
        if contract.status != "expert_signed":
            raise _fail(f"cannot seal a contract in status {contract.status}", "SignOrder")
        return contract, current

    @activity.defn
    def seal_contract(self, request: SealContractRequest) -> IssuedDocument:
        """The platform's timestamped seal, after both parties signed; records the fact in the ledger."""
        with self._sessions() as s:
            state = self._to_seal(s, request)
            if isinstance(state, IssuedDocument):
                return state
            sealed_id, current_sha256 = state[1].id, state[1].sha256
        sealed = self._signer.sign(
            self._store.get(current_sha256),
            signer_name=SEAL_NAME,
            common_name=self._seal_name,
            field_name="PlatformSeal",
            reason="platform seal",
            timestamp=True,
        )
        stored = self._store_pdf(sealed)
        with transaction(self._sessions) as s:
            state = self._to_seal(s, request)  # a concurrent attempt may have sealed meanwhile
            if isinstance(state, IssuedDocument):
                return state
            contract, current = state
            if current.id != sealed_id:  # only a signature changes the document, and it changes the status too
                raise _fail("the contract changed while it was sealed", "DocumentChanged")
            doc = self._save_document(
                s,
                stored,
                kind="contract",
                language=contract.language,
                mission_id=contract.mission_id,
                stage="sealed",
                previous_id=current.id,
            )
            now = datetime.now().astimezone()
            s.add(
                ConsentRecord(
                    contract_id=contract.id,
                    party="platform",
                    signer_user_id=None,
                    signed_at=now,
                    signed_document_sha256=current.sha256,
                    result_document_id=doc.id,
                )
            )
            contract.status, contract.current_document_id = "sealed", doc.id
            self._ledger(
                s,
                kind="contract_signed",
                community="mission",
                period=now.strftime("%Y-%m"),
                amount=contract.total_amount,
                currency=contract.currency,
                reference=f"contract:{contract.id}",
                at=now,
            )
            return IssuedDocument(document_id=contract.id, kind="contract", sha256=doc.sha256)

    # --- invoices ---------------------------------------------------------------------------------------

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

    def _issue(self, draft: InvoiceDraft) -> IssuedInvoice:
        try:
            record, _created = issue_invoice(self._sessions, draft)
        except VatResolutionError as error:
            raise _fail(str(error), "VatResolution") from error
        return self._finish_invoice(record)

    @activity.defn
    def issue_mission_invoice(self, request: MissionInvoiceRequest) -> IssuedInvoice:
        """The expert's invoice to the client for one accepted milestone, issued under the billing mandate."""
        with self._sessions() as s:
            expert, org = s.get(Expert, request.expert_id), s.get(Organisation, request.client_org_id)
            if expert is None or org is None:
                raise _fail("unknown expert or client organisation", "UnknownParty")
            if expert.billing_mandate_accepted_on is None:
                raise _fail("the expert has not accepted the billing mandate", "NoBillingMandate")
            seller, buyer, regime = _expert_party(s, expert), _org_party(org), expert.vat_regime
        platform = self._settings.platform.legal_name

        def build(number: str) -> Invoice:
            vat = resolve_vat(
                seller_country=seller.address.country,
                seller_regime=regime,  # type: ignore[arg-type]
                seller_vat_number=seller.vat_number,
                buyer_country=buyer.address.country,
                buyer_vat_number=buyer.vat_number,
            )
            eur_rate = eur_rate_for_vat(request.amount.currency, self._settings.exchange_rates.table())
            return Invoice(
                kind="mission_invoice",
                number=number,
                issue_date=request.issue_date,
                service_date=request.service_date,
                due_date=request.issue_date + timedelta(days=request.due_days),
                currency=request.amount.currency,
                vat_eur_rate=eur_rate[0],
                vat_eur_rate_date=eur_rate[1],
                language=request.language,
                seller=seller,
                buyer=buyer,
                lines=[
                    InvoiceLine(description=request.description, quantity=Decimal(1), unit_price=request.amount.amount)
                ],
                vat=vat,
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
                buyer = _org_party(org) if org else None
            else:
                expert = s.get(Expert, request.member_id)
                buyer = _expert_party(s, expert) if expert else None
        if buyer is None:
            raise _fail("unknown member", "UnknownParty")
        seller, fr = self._platform, request.language == "fr"

        def build(number: str) -> Invoice:
            vat = resolve_vat(
                seller_country=seller.address.country,
                seller_regime="vat_registered",
                seller_vat_number=seller.vat_number,
                buyer_country=buyer.address.country,
                buyer_vat_number=buyer.vat_number,
            )
            label = "Cotisation annuelle" if fr else "Yearly registration fee"
            eur_rate = eur_rate_for_vat(request.amount.currency, self._settings.exchange_rates.table())
            return Invoice(
                kind="fee_invoice",
                number=number,
                issue_date=request.issue_date,
                service_date=request.term_start,
                due_date=request.issue_date + timedelta(days=request.due_days),
                currency=request.amount.currency,
                vat_eur_rate=eur_rate[0],
                vat_eur_rate_date=eur_rate[1],
                language=request.language,
                seller=seller,
                buyer=buyer,
                vat=vat,
                lines=[
                    InvoiceLine(
                        description=f"{label} {request.term_start.isoformat()} – {request.term_end.isoformat()}",
                        quantity=Decimal(1),
                        unit_price=request.amount.amount,
                    )
                ],
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
                raise _fail(f"unknown invoice {request.invoice_number}", "UnknownInvoice")
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
    def record_fee_paid(self, request: FeePaidRequest) -> bool:
        """Ledger entry for a collected fee (idempotent per invoice)."""
        with transaction(self._sessions) as s:
            invoice = s.scalar(select(InvoiceRecord).where(InvoiceRecord.number == request.invoice_number))
            if invoice is None or invoice.kind != "fee_invoice":
                raise _fail(f"unknown fee invoice {request.invoice_number}", "UnknownInvoice")
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
