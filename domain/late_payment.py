"""What a late payer owes besides the invoice (France, Code de commerce L441-10): late-payment interest at the
invoice's penalty rate (at least three times the legal interest rate), simple interest per day from the day after
the due date, and the fixed recovery indemnity of 40 EUR per unpaid invoice between businesses. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from domain.invoice import Invoice

DAYS_A_YEAR = Decimal(365)


@dataclass(frozen=True)
class LateCharges:
    days_late: int
    rate: Decimal  # percent a year
    interest: Decimal  # in the invoice's currency
    indemnity: Decimal  # EUR, always
    total_due: Decimal  # invoice total + interest (+ the indemnity when the invoice is in EUR)


def late_charges(invoice: Invoice, on: date) -> LateCharges:
    """The charges on `on` of an invoice unpaid since its due date (nothing before it)."""
    days = max(0, (on - invoice.due_date).days)
    interest = (invoice.grand_total * invoice.late_penalty_rate / 100 * days / DAYS_A_YEAR).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    indemnity = invoice.recovery_indemnity if days else Decimal("0.00")
    total = invoice.grand_total + interest + (indemnity if invoice.currency == "EUR" else Decimal("0.00"))
    return LateCharges(days, invoice.late_penalty_rate, interest, indemnity, total)
