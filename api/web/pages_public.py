"""The public transparency page: fees per community and period, contracts and their value, commission 0.00."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from api.deps import SessionDep
from api.routers.public import exposure_summary
from api.web.charts import bar_chart
from api.web.core import MaybeUser, language_of, render
from api.web.i18n import translations
from store.legal import export_ledger_csv, verify_ledger
from store.models.legal import LedgerEntry

router = APIRouter(include_in_schema=False)

FEE_KINDS = ("fee_invoiced", "fee_paid")
Totals = dict[tuple[str, str, str], tuple[int, Decimal]]


def ledger_totals(session: SessionDep) -> tuple[Totals, Totals, Totals, Decimal]:
    """(fees by period/community/currency, contracts by period, mission invoices by period, commission)."""
    fees: Totals = defaultdict(lambda: (0, Decimal("0.00")))
    contracts: Totals = defaultdict(lambda: (0, Decimal("0.00")))
    invoiced: Totals = defaultdict(lambda: (0, Decimal("0.00")))
    commission = Decimal("0.00")
    for e in session.scalars(select(LedgerEntry).order_by(LedgerEntry.sequence)):
        commission += e.commission
        bucket = (
            fees
            if e.kind == "fee_invoiced"
            else contracts
            if e.kind == "contract_signed"
            else invoiced
            if e.kind == "mission_invoice_issued"
            else None
        )
        if bucket is None:
            continue
        key = (e.period, e.community, e.currency)
        count, amount = bucket[key]
        bucket[key] = (count + 1, amount + e.amount)
    return dict(fees), dict(contracts), dict(invoiced), commission


@router.get("/transparency")
def transparency(request: Request, user: MaybeUser, session: SessionDep) -> Response:
    _ = translations(language_of(request, user)).gettext
    fees, contracts, invoiced, commission = ledger_totals(session)
    fee_chart = bar_chart(
        _("Registration fees invoiced per community and period"),
        [(f"{p} {c}", float(a)) for (p, c, _cur), (_n, a) in sorted(fees.items())],
    )
    contract_chart = bar_chart(
        _("Contracts signed and their value"), [(p, float(a)) for (p, _c, _cur), (_n, a) in sorted(contracts.items())]
    )
    return render(
        request,
        "transparency.html",
        user,
        fees=sorted(fees.items()),
        contracts=sorted(contracts.items()),
        invoiced=sorted(invoiced.items()),
        commission=commission,
        fee_chart=fee_chart,
        contract_chart=contract_chart,
        problems=verify_ledger(session),
        exposure=exposure_summary(session),
    )


@router.get("/transparency.csv")
def transparency_csv(session: SessionDep) -> Response:
    return Response(
        export_ledger_csv(session),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="innot-transparency-ledger.csv"'},
    )
