"""Repositories of the legal records: gapless invoice numbering and the hash-chained transparency ledger.

Numbering: the number is taken from the series' counter row, locked (`SELECT ... FOR UPDATE` on PostgreSQL;
SQLite serialises writers, and we take its write lock first with the UPDATE) in the same transaction that
inserts the invoice. If the insert fails, the counter update rolls back with it: no gap. The idempotency key
is unique: a retry returns the invoice already issued, a concurrent duplicate loses on the constraint.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from domain.invoice import Invoice
from store.models.legal import InvoiceCounter, InvoiceRecord, LedgerEntry

GENESIS_HASH = "0" * 64


def series_key(prefix: str, seller_key: str, year: int) -> str:
    """`FA-<seller>-<year>`: one continuous series per seller and year (the year is part of every number)."""
    return f"{prefix}-{seller_key}-{year}"


def format_number(series: str, sequence: int) -> str:
    return f"{series}-{sequence:06d}"


def _take_next(session: Session, series: str) -> int:
    """Increment the series counter under its row lock and return the new value (creating the row once)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    for _ in range(2):
        if postgres:
            current = session.execute(
                select(InvoiceCounter.last_value).where(InvoiceCounter.series == series).with_for_update()
            ).scalar_one_or_none()
            if current is not None:
                session.execute(
                    update(InvoiceCounter).where(InvoiceCounter.series == series).values(last_value=current + 1)
                )
                return current + 1
        else:
            # The UPDATE takes SQLite's write lock before reading: no stale read between two writers.
            value = session.execute(
                update(InvoiceCounter)
                .where(InvoiceCounter.series == series)
                .values(last_value=InvoiceCounter.last_value + 1)
                .returning(InvoiceCounter.last_value)
            ).scalar_one_or_none()
            if value is not None:
                return int(value)
        try:
            with session.begin_nested():
                session.execute(insert(InvoiceCounter).values(series=series, last_value=0))
        except IntegrityError:
            pass  # created concurrently: lock it on the next pass
    raise RuntimeError(f"could not take a number in series {series}")


@dataclass(frozen=True)
class InvoiceDraft:
    """What the caller knows before the number exists; `build(number)` returns the complete invoice."""

    idempotency_key: str
    series: str
    seller_ref: str
    buyer_ref: str
    build: Callable[[str], Invoice]
    mission_id: Any = None
    corrects_invoice_id: Any = None


def find_invoice(session: Session, idempotency_key: str) -> InvoiceRecord | None:
    return session.execute(
        select(InvoiceRecord).where(InvoiceRecord.idempotency_key == idempotency_key)
    ).scalar_one_or_none()


def issue_invoice(factory: sessionmaker[Session], draft: InvoiceDraft) -> tuple[InvoiceRecord, bool]:
    """Issue the invoice once; returns (record, created). A retry with the same key returns the first one."""
    with factory() as session:
        existing = find_invoice(session, draft.idempotency_key)
        if existing is not None:
            return existing, False
    try:
        with factory() as session, session.begin():
            sequence = _take_next(session, draft.series)
            number = format_number(draft.series, sequence)
            invoice = draft.build(number)
            record = InvoiceRecord(
                idempotency_key=draft.idempotency_key, number=number, series=draft.series, sequence=sequence,
                kind=invoice.kind, type_code=invoice.type_code, seller_ref=draft.seller_ref,
                buyer_ref=draft.buyer_ref, mission_id=draft.mission_id, issue_date=invoice.issue_date,
                due_date=invoice.due_date, currency=invoice.currency, total_excl_tax=invoice.total_net,
                total_vat=invoice.total_vat, total_incl_tax=invoice.grand_total,
                corrects_invoice_id=draft.corrects_invoice_id, snapshot=invoice.model_dump(mode="json"),
            )  # fmt: skip
            session.add(record)
            session.flush()
        return record, True
    except IntegrityError:
        # A concurrent attempt with the same idempotency key won; its number stands, ours rolled back.
        with factory() as session:
            existing = find_invoice(session, draft.idempotency_key)
            if existing is None:
                raise
            return existing, False


# --- transparency ledger -------------------------------------------------------------------------------


def _entry_digest(entry: LedgerEntry | dict[str, Any], previous_hash: str) -> str:
    def get(key: str) -> Any:
        return entry[key] if isinstance(entry, dict) else getattr(entry, key)

    at = get("at")
    payload = {
        "sequence": get("sequence"),
        "at": at.isoformat() if isinstance(at, datetime) else str(at),
        "kind": get("kind"),
        "community": get("community"),
        "period": get("period"),
        "amount": f"{Decimal(get('amount')):.2f}",
        "currency": get("currency"),
        "commission": f"{Decimal(get('commission')):.2f}",
        "reference": get("reference"),
        "note": get("note"),
        "previous_hash": previous_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append_ledger_entry(
    session: Session,
    *,
    kind: str,
    community: str,
    period: str,
    amount: Decimal,
    currency: str,
    reference: str,
    at: datetime,
    note: str = "",
) -> LedgerEntry:
    """Append one fact (idempotent on `reference`). Commission is always 0.00: the platform takes none.

    Appends are serialised by the primary key: of two writers racing for one sequence, one fails and retries.
    """
    existing = session.execute(select(LedgerEntry).where(LedgerEntry.reference == reference)).scalar_one_or_none()
    if existing is not None:
        return existing
    last = session.execute(select(LedgerEntry).order_by(LedgerEntry.sequence.desc()).limit(1)).scalar_one_or_none()
    values: dict[str, Any] = {
        "sequence": (last.sequence + 1) if last else 1,
        "at": at,
        "kind": kind,
        "community": community,
        "period": period,
        "amount": Decimal(amount).quantize(Decimal("0.01")),
        "currency": currency,
        "commission": Decimal("0.00"),
        "reference": reference,
        "note": note,
    }
    previous_hash = last.entry_hash if last else GENESIS_HASH
    entry = LedgerEntry(**values, previous_hash=previous_hash, entry_hash=_entry_digest(values, previous_hash))
    session.add(entry)
    session.flush()
    return entry


def verify_ledger(session: Session) -> list[str]:
    """Every problem found in the chain: an edited entry, a removed one, a broken link. Empty means intact."""
    problems: list[str] = []
    previous_hash = GENESIS_HASH
    expected_sequence = 1
    for entry in session.execute(select(LedgerEntry).order_by(LedgerEntry.sequence)).scalars():
        if entry.sequence != expected_sequence:
            problems.append(f"entries {expected_sequence}..{entry.sequence - 1} are missing (removed)")
        if entry.previous_hash != previous_hash:
            problems.append(f"entry {entry.sequence}: does not follow the previous entry (chain broken)")
        if _entry_digest(entry, entry.previous_hash) != entry.entry_hash:
            problems.append(f"entry {entry.sequence}: content does not match its hash (edited)")
        if entry.commission != Decimal("0.00"):
            problems.append(f"entry {entry.sequence}: commission {entry.commission} is not zero")
        previous_hash = entry.entry_hash
        expected_sequence = entry.sequence + 1
    return problems


def export_ledger_csv(session: Session) -> str:
    """Totals per community, period, kind and currency, then every entry with its hash (public export)."""
    entries = list(session.execute(select(LedgerEntry).order_by(LedgerEntry.sequence)).scalars())
    totals: dict[tuple[str, str, str, str], tuple[int, Decimal, Decimal]] = {}
    for e in entries:
        key = (e.period, e.community, e.kind, e.currency)
        count, amount, commission = totals.get(key, (0, Decimal("0.00"), Decimal("0.00")))
        totals[key] = (count + 1, amount + e.amount, commission + e.commission)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["period", "community", "kind", "currency", "count", "total", "commission"])
    for (period, community, kind, currency), (count, amount, commission) in sorted(totals.items()):
        writer.writerow([period, community, kind, currency, count, f"{amount:.2f}", f"{commission:.2f}"])
    writer.writerow([])
    writer.writerow(["sequence", "at", "kind", "community", "period", "amount", "currency", "commission",
                     "reference", "previous_hash", "entry_hash"])  # fmt: skip
    for e in entries:
        writer.writerow([e.sequence, e.at.isoformat(), e.kind, e.community, e.period, f"{e.amount:.2f}",
                         e.currency, f"{e.commission:.2f}", e.reference, e.previous_hash, e.entry_hash])  # fmt: skip
    return out.getvalue()
