"""The mission workflows with the real invoice activities (database, renderer, document store, dev keys) in place of
the fakes: the invoices and credit notes a process issues are real Factur-X documents, checked here like every
invoice (XSD and the EN 16931 and French CTC schematrons), with their ledger entries."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.documents import DocumentActivities
from activities.notify import NotifyActivities
from activities.readmodel import ReadModelActivities
from config.settings import Settings
from config.temporal import workflow_runner
from documents.facturx import extract_facturx
from documents.rendering import Renderer
from documents.schematron import SchematronValidator, applicable_rule_sets
from documents.signing import DevPki
from documents.store import LocalDocumentStore
from documents.verification import verify_document
from domain.invoice import Invoice
from store.db import transaction
from store.models.community import Expert, Organisation
from store.models.legal import InvoiceRecord, LedgerEntry
from tests.conftest import _binary
from tests.workflows.conftest import Harness
from tests.workflows.fakes import Fakes
from workflows import ALL_WORKFLOWS

_SCHEMATRON: SchematronValidator | None = None
_RENDERER: Renderer | None = None


def _validator() -> SchematronValidator:
    global _SCHEMATRON
    if _SCHEMATRON is None:
        _SCHEMATRON = SchematronValidator()
    return _SCHEMATRON


def _renderer() -> Renderer:
    global _RENDERER
    if _RENDERER is None:
        _RENDERER = Renderer()
    return _RENDERER


@dataclass
class Money:
    h: Harness
    store: LocalDocumentStore
    settings: Settings

    def documents(self) -> list[InvoiceRecord]:
        """The mission's invoices, then its credit notes, by issue date."""
        with self.h.sessions() as s:
            rows = s.scalars(select(InvoiceRecord).where(InvoiceRecord.mission_id == self.h.mission_id))
            return sorted(rows, key=lambda r: (r.issue_date, r.kind == "credit_note", r.number))

    def valid(self, record: InvoiceRecord) -> Invoice:
        """The document is a valid Factur-X file: XSD, and every rule set that applies to it (EN 16931, FR CTC)."""
        with self.h.sessions() as s:
            from store.models.legal import DocumentRecord

            doc = s.get_one(DocumentRecord, record.document_id)
            pdf = self.store.get(doc.sha256)
        report = verify_document(pdf, trust_root=DevPki(self.settings.keys_dir).ca_cert_path, expect_facturx=True)
        assert report.facturx == "valid", report.summary()
        xml = extract_facturx(pdf)
        assert xml is not None
        sets = [d.name for d in applicable_rule_sets(xml) if d.applies]
        failed = _validator().failed_asserts(xml, sets)
        assert failed == [], [str(f) for f in failed]
        return Invoice.model_validate(record.snapshot)

    def ledger(self) -> list[tuple[str, Decimal, str]]:
        """(kind, amount, reference) of the ledger entries of the mission's documents."""
        numbers = {f"invoice:{r.number}" for r in self.documents()}
        with self.h.sessions() as s:
            rows = s.scalars(select(LedgerEntry).order_by(LedgerEntry.sequence))
            return [(e.kind, e.amount, e.reference) for e in rows if e.reference in numbers]


def seed_parties(sessions: sessionmaker[Session], org_id: uuid.UUID, expert_ids: list[uuid.UUID]) -> None:
    """A French client company and French VAT-registered experts who accepted the billing mandate."""
    with transaction(sessions) as s:
        s.add(
            Organisation(
                id=org_id,
                legal_name="Acme Industries SA",
                legal_form="SA",
                country="FR",
                siren="552100554",
                siret="55210055400013",
                vat_number="FR03552100554",
                address_line="25 avenue de l'Opéra",
                postcode="75001",
                city="Paris",
                billing_email="ap@acme.fr",
            )
        )
        for i, expert_id in enumerate(expert_ids):
            s.add(
                Expert(
                    id=expert_id,
                    display_name=f"Expert {i}",
                    legal_name=f"Marie Dupont Conseil {i}",
                    legal_form="EI",
                    country="FR",
                    address_line="12 quai Saint-Antoine",
                    postcode="69002",
                    city="Lyon",
                    daily_rate=Decimal("850"),
                    available_from=date(2026, 1, 1),
                    vat_regime="vat_registered",
                    siren="732829320",
                    siret="73282932000074",
                    vat_number="FR44732829320",
                    iban="FR7630006000011234567890189",
                    billing_mandate_accepted_on=date(2026, 1, 2),
                )
            )


async def money_harness(
    task_queue: str, sessions: sessionmaker[Session], root: Path
) -> AsyncIterator[tuple[Harness, Money]]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=_binary("temporal-test-server")
    )
    settings = Settings(keys_dir=root / "keys", document_store=f"file://{root / 'store'}")
    store = LocalDocumentStore(root / "store")
    documents = DocumentActivities(sessions, store, _renderer(), settings)
    fakes = Fakes()
    real = [documents.issue_mission_invoice, documents.issue_credit_note, documents.issue_payment_reminder]
    fake = [a for a in fakes.activities() if a.__name__ not in {r.__name__ for r in real}]
    readmodel = ReadModelActivities(sessions)
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            async with Worker(
                env.client,
                task_queue=task_queue,
                workflows=ALL_WORKFLOWS,
                workflow_runner=workflow_runner(sandboxed=True),
                activities=[readmodel.write_read_model, NotifyActivities(sessions).deliver_notice, *fake, *real],
                activity_executor=pool,
            ):
                h = Harness(env, task_queue, fakes, sessions, search_attributes=False)
                seed_parties(sessions, h.org_id, fakes.experts)
                yield h, Money(h, store, settings)
                await h.terminate_leftovers()
    finally:
        await env.shutdown()
