"""Gapless, idempotent invoice numbering under concurrency (PostgreSQL: 4 processes x 250; SQLite: threads)."""

from __future__ import annotations

import multiprocessing
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from domain.invoice import Invoice
from store.db import make_engine, make_session_factory
from store.legal import InvoiceDraft, issue_invoice, series_key
from store.models.legal import ImmutableRecordError, InvoiceRecord
from tests.documents.factories import make_invoice

pytestmark = pytest.mark.db


def _build(number: str) -> Invoice:
    return make_invoice("domestic").model_copy(update={"number": number})


def _draft(series: str, key: str) -> InvoiceDraft:
    return InvoiceDraft(idempotency_key=key, series=series, seller_ref="expert:test", buyer_ref="org:test",
                        build=_build)  # fmt: skip


def _issue_many(url: str, series: str, worker: int, count: int) -> list[str]:
    """Runs in a child process: its own engine, `count` invoices, and a retry of every tenth key."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    numbers = []
    try:
        for n in range(count):
            key = f"{series}:w{worker}:m{n}"
            record, created = issue_invoice(factory, _draft(series, key))
            assert created
            numbers.append(record.number)
            if n % 10 == 0:
                again, created_again = issue_invoice(factory, _draft(series, key))
                assert (again.number, created_again) == (record.number, False)
    finally:
        engine.dispose()
    return numbers


def _numbers_of(factory: sessionmaker[Session], series: str) -> list[int]:
    with factory() as session:
        return list(session.execute(select(InvoiceRecord.sequence).where(InvoiceRecord.series == series)).scalars())


def _assert_consecutive(numbers: list[str], stored: list[int], series: str, total: int) -> None:
    assert len(numbers) == len(set(numbers)) == total, "duplicate numbers were issued"
    assert sorted(stored) == list(range(1, total + 1)), "the series has a gap or a duplicate"
    assert sorted(numbers) == [f"{series}-{n:06d}" for n in range(1, total + 1)]


def test_four_processes_issue_consecutive_numbers_without_gap(
    database_url: str, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    series = series_key("FA", uuid.uuid4().hex[:8], 2026)
    if engine.dialect.name == "postgresql":
        workers, per_worker = 4, 250
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            results = pool.starmap(_issue_many, [(database_url, series, w, per_worker) for w in range(workers)])
    else:  # SQLite serialises writers: a smaller threaded run exercises the same code path
        workers, per_worker = 4, 40
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(lambda w: _issue_many(database_url, series, w, per_worker), range(workers)))
    numbers = [number for batch in results for number in batch]
    _assert_consecutive(numbers, _numbers_of(session_factory, series), series, workers * per_worker)


def test_a_failed_issue_consumes_no_number(session_factory: sessionmaker[Session]) -> None:
    series = series_key("FA", uuid.uuid4().hex[:8], 2026)
    issue_invoice(session_factory, _draft(series, f"{series}:a"))

    def broken(number: str) -> Invoice:
        raise RuntimeError("rendering data missing")

    with pytest.raises(RuntimeError):
        issue_invoice(session_factory, InvoiceDraft(f"{series}:b", series, "expert:test", "org:test", broken))
    record, created = issue_invoice(session_factory, _draft(series, f"{series}:c"))
    assert created and record.number == f"{series}-000002"


def test_an_issued_invoice_cannot_be_edited_or_deleted(session_factory: sessionmaker[Session]) -> None:
    series = series_key("FA", uuid.uuid4().hex[:8], 2026)
    record, _ = issue_invoice(session_factory, _draft(series, f"{series}:a"))
    with session_factory() as session:
        stored = session.get(InvoiceRecord, record.id)
        assert stored is not None
        stored.total_incl_tax = stored.total_incl_tax + 1
        with pytest.raises(ImmutableRecordError, match="immutable"):
            session.flush()
        session.rollback()
        stored = session.get(InvoiceRecord, record.id)
        session.delete(stored)
        with pytest.raises(ImmutableRecordError, match="never deleted"):
            session.flush()
