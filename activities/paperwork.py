"""What the document activities share: the parties of a document, its record and its store, the ledger.

`DocumentWork` receives the dependencies (session factory, document store, renderer, settings); the contract
activities (activities.contracts) and the invoice activities (activities.invoices) build on it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio.exceptions import ApplicationError

from config.settings import Settings
from documents.rendering import Renderer
from documents.signing import PdfSigner
from documents.store import DocumentStore
from domain.invoice import Address, Party
from store.legal import append_ledger_entry
from store.models.community import Expert, Organisation, User
from store.models.legal import ContractRecord, DocumentRecord


def contract_of(s: Session, mission_id: uuid.UUID, contract_id: uuid.UUID) -> ContractRecord:
    contract = s.get(ContractRecord, contract_id)
    if contract is None or contract.mission_id != mission_id:
        raise fail("unknown contract for this mission", "UnknownContract")
    return contract


def fail(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


def expert_party(s: Session, expert: Expert) -> Party:
    user = s.scalar(select(User).where(User.expert_id == expert.id))
    return Party(
        name=expert.legal_name,
        legal_form=expert.legal_form,
        address=Address(line=expert.address_line, postcode=expert.postcode, city=expert.city, country=expert.country),
        siren=expert.siren,
        siret=expert.siret,
        vat_number=expert.vat_number,
        tax_id=expert.tax_id,
        iban=expert.iban,
        bic=expert.bic,
        account_number=expert.account_number,
        aba_routing=expert.aba_routing,
        electronic_address=user.email if user else f"expert-{expert.id}@invalid",
    )


def org_party(org: Organisation) -> Party:
    return Party(
        name=org.legal_name,
        legal_form=org.legal_form,
        address=Address(line=org.address_line, postcode=org.postcode, city=org.city, country=org.country),
        siren=org.siren,
        siret=org.siret,
        vat_number=org.vat_number,
        tax_id=org.tax_id,
        electronic_address=org.billing_email,
    )


class DocumentWork:
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
