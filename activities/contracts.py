"""Contract activities (documents task queue): render the contract (or an amendment), record each party's
signature, seal it.

Sync methods: the worker runs them in its thread pool (rendering and signing stay off the event loop). Each is
idempotent: a retry returns the document already issued, never a second one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio import activity

from activities.paperwork import DocumentWork, contract_of, expert_party, fail, org_party
from documents.contracts import render_amendment, render_contract, terms_sha256, terms_snapshot
from documents.signing import SEAL_NAME
from domain.documents import (
    AmendmentRequest,
    ContractRequest,
    IssuedDocument,
    SealContractRequest,
    SignContractRequest,
)
from store.db import transaction
from store.models.community import Expert, Organisation, User
from store.models.legal import ConsentRecord, ContractRecord, DocumentRecord


class ContractActivities(DocumentWork):
    def _existing_contract(
        self, s: Session, request: ContractRequest | AmendmentRequest, amendment: int = 0
    ) -> IssuedDocument | None:
        existing = s.scalar(
            select(ContractRecord).where(
                ContractRecord.mission_id == request.mission_id, ContractRecord.amendment == amendment
            )
        )
        if existing is None:
            return None
        if existing.terms_sha256 != terms_sha256(request):
            raise fail("the contract of this mission exists with other terms", "ContractTermsLocked")
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
                raise fail("unknown client organisation or expert", "UnknownParty")
            client, consultant = org_party(org), expert_party(s, expert)
        pdf = render_contract(
            self._renderer,
            request,
            client=client,
            expert=consultant,
            platform_name=self._settings.platform.legal_name,
            issued_on=datetime.now().date(),
        )
        return self._record_contract(
            request, self._store_pdf(pdf), total=request.total.amount, currency=request.total.currency
        )

    def _record_contract(
        self,
        request: ContractRequest | AmendmentRequest,
        stored: tuple[str, int],
        *,
        total: Decimal,
        currency: str,
        amendment: int = 0,
        amends_id: uuid.UUID | None = None,
    ) -> IssuedDocument:
        """Record a rendered contract (or amendment `amendment`) and its first PDF, in one unit of work; what a
        concurrent attempt recorded meanwhile, if it did."""
        with transaction(self._sessions) as s:
            issued = self._existing_contract(s, request, amendment)
            if issued is not None:
                return issued
            doc = self._save_document(
                s, stored, kind="contract", language=request.language, mission_id=request.mission_id
            )
            contract = ContractRecord(
                mission_id=request.mission_id,
                amendment=amendment,
                amends_id=amends_id,
                client_org_id=request.client_org_id,
                expert_id=request.expert_id,
                language=request.language,
                terms=terms_snapshot(request),
                terms_sha256=terms_sha256(request),
                total_amount=total,
                currency=currency,
                original_document_id=doc.id,
                current_document_id=doc.id,
            )
            s.add(contract)
            s.flush()
            return IssuedDocument(document_id=contract.id, kind="contract", sha256=doc.sha256)

    @activity.defn
    def render_amendment(self, request: AmendmentRequest) -> IssuedDocument:
        """Render the contract's amendment `request.number` (the milestones handed over to another expert): a
        contract record of its own, amending the contract, which the client and the new expert sign and the platform
        seals like the contract (`sign_contract`, `seal_contract`)."""
        with self._sessions() as s:
            issued = self._existing_contract(s, request, request.number)
            if issued is not None:
                return issued
            amended = contract_of(s, request.mission_id, request.amends_contract_id)
            if amended.status != "sealed":
                raise fail("only a sealed contract can be amended", "SignOrder")
            contract_sha256 = s.get_one(DocumentRecord, amended.current_document_id).sha256
            org = s.get(Organisation, request.client_org_id)
            expert, former = s.get(Expert, request.expert_id), s.get(Expert, request.from_expert_id)
            if org is None or expert is None or former is None:
                raise fail("unknown client organisation or expert", "UnknownParty")
            client, incoming, outgoing = org_party(org), expert_party(s, expert), expert_party(s, former)
        pdf = render_amendment(
            self._renderer,
            request,
            client=client,
            expert=incoming,
            former=outgoing,
            platform_name=self._settings.platform.legal_name,
            contract_sha256=contract_sha256,
            issued_on=datetime.now().date(),
        )
        total = sum((m.amount for m in request.milestones), Decimal("0"))
        return self._record_contract(
            request,
            self._store_pdf(pdf),
            total=total,
            currency=request.currency,
            amendment=request.number,
            amends_id=request.amends_contract_id,
        )

    def _to_sign(
        self, s: Session, request: SignContractRequest
    ) -> tuple[ContractRecord, DocumentRecord] | IssuedDocument:
        """The contract and the document the party signs, or what its signature already gave."""
        contract = contract_of(s, request.mission_id, request.contract_id)
        done = s.scalar(
            select(ConsentRecord).where(ConsentRecord.contract_id == contract.id, ConsentRecord.party == request.party)
        )
        if done is not None:
            doc = s.get_one(DocumentRecord, done.result_document_id)
            return IssuedDocument(document_id=contract.id, kind="contract", sha256=doc.sha256)
        expected_status = {"client": "rendered", "expert": "client_signed"}[request.party]
        if contract.status != expected_status:
            raise fail(f"the {request.party} cannot sign a contract in status {contract.status}", "SignOrder")
        current = s.get_one(DocumentRecord, contract.current_document_id)
        if current.sha256 != request.expected_sha256:
            raise fail("the document changed since the signer saw it", "DocumentChanged")
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
        contract = contract_of(s, request.mission_id, request.contract_id)
        current = s.get_one(DocumentRecord, contract.current_document_id)
        if contract.status == "sealed":
            return IssuedDocument(document_id=contract.id, kind="contract", sha256=current.sha256)
        if contract.status != "expert_signed":
            raise fail(f"cannot seal a contract in status {contract.status}", "SignOrder")
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
                raise fail("the contract changed while it was sealed", "DocumentChanged")
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
                kind="contract_amended" if contract.amendment else "contract_signed",
                community="mission",
                period=now.strftime("%Y-%m"),
                amount=contract.total_amount,
                currency=contract.currency,
                reference=f"contract:{contract.id}",
                at=now,
            )
            return IssuedDocument(document_id=contract.id, kind="contract", sha256=doc.sha256)
