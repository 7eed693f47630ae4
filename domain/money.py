"""Money as Decimal with its currency; EN 16931 rounding (2 decimals, half up)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

CENT = Decimal("0.01")
CURRENCIES = frozenset(
    {"EUR", "USD", "GBP", "CHF", "CAD", "JPY", "SEK", "NOK", "DKK", "PLN", "AUD", "SGD", "INR", "BRL"}
)


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _currency(code: str) -> str:
    code = code.upper()
    if code not in CURRENCIES:
        raise ValueError(f"unsupported currency {code!r}; use one of {', '.join(sorted(CURRENCIES))}")
    return code


Currency = Annotated[str, AfterValidator(_currency)]


class Money(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount: Decimal = Field(max_digits=14, decimal_places=2)
    currency: Currency = "EUR"

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(amount=self.amount + other.amount, currency=self.currency)
