"""The public transparency ledger (no authentication): what the platform invoiced and collected, the contracts
and mission invoices that went through it, and the proof that it took no commission, reconciled to the cent
from the invoice records themselves; the CSV export; the state of the hash chain; the fair exposure of the experts."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SessionDep
from domain.invoice import Invoice
from store.legal import export_ledger_csv, verify_ledger
from store.matching import exposure_figures
from store.models.legal import InvoiceRecord, LedgerEntry

router = APIRouter(prefix="/public", tags=["public"])

ZERO = Decimal("0.00")
# ledger kinds -> the column of the public table they add to
COLUMNS = {
    "fee_invoiced": "fees_invoiced",
    "fee_paid": "fees_paid",
    "contract_signed": "contracts_signed",
    "contract_amended": "contracts_amended",
    "mission_invoice_issued": "mission_invoices",
    "credit_note_issued": "credit_notes",
}


class Total(BaseModel):
    count: int = 0
    amount: Decimal = Field(default=ZERO, description="excluding tax")

    def add(self, amount: Decimal) -> None:
        self.count += 1
        self.amount = (self.amount + amount).quantize(Decimal("0.01"))


class PeriodTotals(BaseModel):
    """One community, one month, one currency, from the ledger entries."""

    period: str = Field(description="YYYY-MM")
    community: str = Field(description="client_organisation | expert | mission")
    currency: str
    fees_invoiced: Total = Field(default_factory=Total)
    fees_paid: Total = Field(default_factory=Total)
    contracts_signed: Total = Field(default_factory=Total)
    contracts_amended: Total = Field(
        default_factory=Total, description="amendments sealed: the amount handed over to another expert"
    )
    mission_invoices: Total = Field(default_factory=Total)
    credit_notes: Total = Field(default_factory=Total)
    commission: Decimal = ZERO


class CommissionCheck(BaseModel):
    """Per month and currency, from the invoice records: what clients were invoiced for missions against what
    those invoices make payable to the experts who are their sellers. The difference is the commission."""

    period: str
    currency: str
    mission_invoices: int
    invoiced_to_clients: Decimal = Field(description="sum of the mission invoices' totals including tax")
    payable_to_experts: Decimal = Field(
        description="recomputed from each invoice's lines, when the seller is the expert"
    )
    commission: Decimal = Field(description="invoiced_to_clients - payable_to_experts")
    ledger_amount: Decimal = Field(description="mission invoices recorded in the ledger (excluding tax)")
    reconciled: bool = Field(description="commission is 0.00 and the ledger matches the invoices to the cent")


class ChainStatus(BaseModel):
    intact: bool
    entries: int
    head: str | None = Field(description="hash of the last entry: publish it to pin the ledger")
    problems: list[str]


class ExposureSummary(BaseModel):
    """How evenly the shortlists of the last days spread over the active experts, from the shortlists shown."""

    days: int = Field(description="the period: the last N days")
    shortlists: int = Field(description="missions that showed a shortlist in the period")
    exposures: int = Field(description="experts shown in those shortlists, once per mission")
    active_experts: int
    experts_shown: int = Field(description="active experts shown at least once")
    share_shown: float = Field(description="experts_shown / active_experts")
    gini: float = Field(description="Gini of exposure over the active experts: 0 is a perfectly even spread")


def exposure_summary(session: Session, days: int = 30) -> ExposureSummary:
    f = exposure_figures(session, datetime.now(UTC), days)
    return ExposureSummary(
        days=f.days, shortlists=f.shortlists, exposures=f.exposures, active_experts=f.active_experts,
        experts_shown=f.experts_shown, share_shown=round(f.share_shown, 4), gini=round(f.gini, 4),
    )  # fmt: skip


class PublicLedger(BaseModel):
    totals: list[PeriodTotals]
    commission: list[CommissionCheck]
    commission_total: Decimal = Field(description="all periods: always 0.00")
    chain: ChainStatus
    exposure: ExposureSummary = Field(description="fair exposure of the experts over the last 30 days")


def chain_status(session: Session, pinned_head: str | None = None) -> ChainStatus:
    """The chain checked link by link; `pinned_head`, a head published earlier, also catches a removed tail."""
    problems = verify_ledger(session)
    last = session.scalars(select(LedgerEntry).order_by(LedgerEntry.sequence.desc()).limit(1)).first()
    if (
        pinned_head
        and session.scalar(select(LedgerEntry.sequence).where(LedgerEntry.entry_hash == pinned_head)) is None
    ):
        problems.append(f"the published head {pinned_head} is no longer in the ledger (entries were removed)")
    return ChainStatus(
        intact=not problems, entries=last.sequence if last else 0, head=last.entry_hash if last else None,
        problems=problems,
    )  # fmt: skip


def period_totals(session: Session) -> list[PeriodTotals]:
    rows: dict[tuple[str, str, str], PeriodTotals] = {}
    for e in session.scalars(select(LedgerEntry).order_by(LedgerEntry.sequence)):
        key = (e.period, e.community, e.currency)
        row = rows.setdefault(key, PeriodTotals(period=e.period, community=e.community, currency=e.currency))
        column = COLUMNS.get(e.kind)
        if column is not None:
            getattr(row, column).add(Decimal(e.amount))
        row.commission += Decimal(e.commission)
    return [rows[k] for k in sorted(rows)]


def _payable_to_seller(record: InvoiceRecord) -> Decimal:
    """What the invoice makes payable to the expert: its lines and VAT recomputed from the issued snapshot,
    counted only when the expert is the seller of record (an invoice sold by the platform would be a cut)."""
    if not record.seller_ref.startswith("expert:"):
        return ZERO
    return Invoice.model_validate(record.snapshot).grand_total


def commission_checks(session: Session) -> list[CommissionCheck]:
    invoiced: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    payable: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    ledger: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    excl_tax: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    records = session.scalars(
        select(InvoiceRecord).where(InvoiceRecord.mission_id.is_not(None)).order_by(InvoiceRecord.issue_date)
    )
    for record in records:
        key = (record.issue_date.strftime("%Y-%m"), record.currency)
        sign = Decimal(-1) if record.kind == "credit_note" else Decimal(1)
        invoiced[key] += sign * Decimal(record.total_incl_tax)
        payable[key] += sign * _payable_to_seller(record)
        if record.kind == "mission_invoice":
            counts[key] += 1
            excl_tax[key] += Decimal(record.total_excl_tax)
    entries = session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "mission_invoice_issued"))
    for e in entries:
        ledger[(e.period, e.currency)] += Decimal(e.amount)
    checks = []
    for key in sorted(set(invoiced) | set(ledger)):
        commission = (invoiced[key] - payable[key]).quantize(Decimal("0.01"))
        checks.append(
            CommissionCheck(
                period=key[0], currency=key[1], mission_invoices=counts[key],
                invoiced_to_clients=invoiced[key].quantize(Decimal("0.01")),
                payable_to_experts=payable[key].quantize(Decimal("0.01")), commission=commission,
                ledger_amount=ledger[key].quantize(Decimal("0.01")),
                reconciled=commission == ZERO and ledger[key] == excl_tax[key],
            )
        )  # fmt: skip
    return checks


@router.get("/ledger", response_model=PublicLedger, summary="Transparency ledger: totals and commission (0.00)")
def public_ledger(session: SessionDep) -> PublicLedger:
    checks = commission_checks(session)
    return PublicLedger(
        totals=period_totals(session),
        commission=checks,
        commission_total=sum((c.commission for c in checks), ZERO),
        chain=chain_status(session),
        exposure=exposure_summary(session),
    )


@router.get("/exposure", response_model=ExposureSummary, summary="Fair exposure of the experts in shortlists")
def public_exposure(
    session: SessionDep, days: Annotated[int, Query(ge=1, le=366, description="the last N days")] = 30
) -> ExposureSummary:
    """Computed from the shortlists shown to clients: each counts each of its experts once."""
    return exposure_summary(session, days)


@router.get(
    "/ledger.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "totals, then every entry with its hashes"}},
    summary="Transparency ledger as CSV",
)
def public_ledger_csv(session: SessionDep) -> Response:
    return Response(
        export_ledger_csv(session),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="innot-ledger.csv"'},
    )


@router.get("/ledger/verify", response_model=ChainStatus, summary="Is the hash chain intact?")
def verify_public_ledger(
    session: SessionDep,
    head: Annotated[str | None, Query(pattern="^[0-9a-f]{64}$", description="a head published earlier")] = None,
) -> ChainStatus:
    """Recomputes every entry's hash and link: an edited or removed entry shows here. The last entries can only
    be removed without a trace if nobody kept the head: pass a head published earlier to check it is still there."""
    return chain_status(session, head)
