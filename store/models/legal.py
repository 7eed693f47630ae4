"""Legal records: documents metadata, invoices and their gapless counters, contracts, consents, and the
public transparency ledger. Issued documents and invoices are immutable: editing a legal column raises."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from store.base import Base, IdMixin, TimestampMixin


class DocumentRecord(IdMixin, TimestampMixin, Base):
    """Metadata of one immutable PDF in the content-addressed document store (bytes live there)."""

    __tablename__ = "documents"

    kind: Mapped[str] = mapped_column(String(32), doc="contract | mission_invoice | fee_invoice | ...")
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(
        String(80), default="application/pdf", doc="what its content is (documents.uploads), never what was declared"
    )
    file_name: Mapped[str | None] = mapped_column(String(160), doc="an upload's name as its sender gave it, cleaned")
    mission_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    number: Mapped[str | None] = mapped_column(String(35), doc="invoice number, when it is one")
    language: Mapped[str] = mapped_column(String(2))
    stage: Mapped[str] = mapped_column(String(32), default="issued", doc="issued | client_signed | ...")
    previous_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("documents.id"), doc="signed from")


class InvoiceCounter(Base):
    """One row per numbering series; its row lock serialises the issue of numbers (no sequence: no gaps)."""

    __tablename__ = "invoice_counters"

    series: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class InvoiceRecord(IdMixin, TimestampMixin, Base):
    """An issued invoice or credit note; `snapshot` is the full `domain.invoice.Invoice` it renders."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("series", "sequence"),)

    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    number: Mapped[str] = mapped_column(String(35), unique=True)
    series: Mapped[str] = mapped_column(String(40))
    sequence: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24), doc="mission_invoice | fee_invoice | credit_note")
    type_code: Mapped[str] = mapped_column(String(3))
    seller_ref: Mapped[str] = mapped_column(String(64), index=True, doc="expert:<id> | platform")
    buyer_ref: Mapped[str] = mapped_column(String(64), index=True, doc="organisation:<id> | expert:<id>")
    mission_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    total_excl_tax: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    total_vat: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    total_incl_tax: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    corrects_invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoices.id"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id"), doc="set once, when the PDF of the snapshot is stored"
    )


class ContractRecord(IdMixin, TimestampMixin, Base):
    """A mission contract, or one of its amendments (`amendment` > 0, `amends_id` the contract): the locked terms
    (snapshot + SHA-256) and the current PDF of its signing chain."""

    __tablename__ = "contracts"
    __table_args__ = (UniqueConstraint("mission_id", "amendment"),)

    mission_id: Mapped[uuid.UUID] = mapped_column(index=True)
    amendment: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0", doc="0: the contract; n: its n-th amendment"
    )
    amends_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contracts.id"), doc="the contract it amends")
    client_org_id: Mapped[uuid.UUID] = mapped_column(index=True)
    expert_id: Mapped[uuid.UUID] = mapped_column(index=True)
    language: Mapped[str] = mapped_column(String(2))
    terms: Mapped[dict[str, Any]] = mapped_column(JSON, doc="the ContractRequest, as rendered")
    terms_sha256: Mapped[str] = mapped_column(String(64))
    total_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="rendered", doc="rendered | client_signed | ...")
    original_document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"))
    current_document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"))


class ConsentRecord(IdMixin, Base):
    """A party's consent to sign: who, when, and the SHA-256 of the exact PDF it saw and signed."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("contract_id", "party"),)

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"), index=True)
    party: Mapped[str] = mapped_column(String(16), doc="client | expert | platform")
    signer_user_id: Mapped[uuid.UUID | None]
    signed_at: Mapped[datetime]
    signed_document_sha256: Mapped[str] = mapped_column(String(64), doc="the PDF the signer consented to")
    result_document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"))


class LedgerEntry(Base):
    """One line of the public transparency ledger; `entry_hash` chains it to the previous line."""

    __tablename__ = "transparency_ledger"

    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32), doc="fee_invoiced | fee_paid | contract_signed | ...")
    community: Mapped[str] = mapped_column(String(24), doc="client_organisation | expert | mission")
    period: Mapped[str] = mapped_column(String(7), index=True, doc="YYYY-MM")
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    commission: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0.00"))
    reference: Mapped[str] = mapped_column(String(200), unique=True, doc="idempotency: one entry per fact")
    note: Mapped[str] = mapped_column(Text, default="")
    previous_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class ImmutableRecordError(RuntimeError):
    pass


_MUTABLE = {InvoiceRecord: {"document_id"}, ContractRecord: {"status", "current_document_id"}}


def _refuse_edit(_mapper: Mapper[Any], _connection: Any, target: Any) -> None:
    state = inspect(target)
    allowed = _MUTABLE.get(type(target), set())
    if isinstance(target, DocumentRecord) and target.kind == "deliverable":
        allowed = {"stage"}  # uploaded -> submitted | refused: the workflow decides after the bytes are stored
    for attr in state.attrs:
        history = attr.history
        if not history.has_changes() or attr.key in allowed:
            continue
        if attr.key == "document_id" and history.deleted == [None]:
            continue
        raise ImmutableRecordError(f"{type(target).__name__}.{attr.key} is immutable once issued")
    if isinstance(target, InvoiceRecord):
        deleted = state.attrs.document_id.history.deleted
        if deleted and deleted != [None]:
            raise ImmutableRecordError("an invoice's document is set once and never replaced")


def _refuse_delete(_mapper: Mapper[Any], _connection: Any, target: Any) -> None:
    raise ImmutableRecordError(f"{type(target).__name__} rows are never deleted")


for _model in (DocumentRecord, InvoiceRecord, ContractRecord, ConsentRecord, LedgerEntry):
    event.listen(_model, "before_update", _refuse_edit)
    event.listen(_model, "before_delete", _refuse_delete)
