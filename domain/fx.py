"""Currency conversion from a rates table. Money stays Decimal; a float factor is derived only for scores."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext

from domain.money import CURRENCIES, Money, round_money


class UnknownCurrencyError(ValueError):
    pass


@dataclass(frozen=True)
class RatesTable:
    """``per_base[c]`` = how many units of currency ``c`` one unit of ``base`` buys, as of ``as_of``."""

    base: str
    as_of: date
    per_base: Mapping[str, Decimal]
    _factors: dict[tuple[str, str], float] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.per_base.get(self.base) != Decimal(1):
            raise ValueError(f"the base currency {self.base} must have rate 1")
        for code, value in self.per_base.items():
            if value <= 0:
                raise ValueError(f"rate for {code} must be positive")

    def rate(self, source: str, target: str) -> Decimal:
        """Units of ``target`` for one unit of ``source`` (cross rate through the base, 12 significant digits)."""
        if source == target:
            return Decimal(1)
        try:
            src, dst = self.per_base[source], self.per_base[target]
        except KeyError as exc:
            raise UnknownCurrencyError(f"no rate for {exc.args[0]} in the table of {self.as_of}") from exc
        with localcontext() as ctx:
            ctx.prec = 12
            return dst / src

    def convert(self, money: Money, target: str) -> Money:
        """``money`` in ``target``, rounded half up to the cent."""
        return Money(amount=round_money(money.amount * self.rate(money.currency, target)), currency=target)

    def factor(self, source: str, target: str) -> float:
        """The conversion rate as a float, for scoring only (memoised: the table is immutable)."""
        key = (source, target)
        cached = self._factors.get(key)
        if cached is None:
            cached = self._factors[key] = float(self.rate(source, target))
        return cached


# Indicative reference rates (1 EUR = x), refreshed by ops through settings in production.
DEFAULT_RATES = RatesTable(
    base="EUR",
    as_of=date(2026, 1, 2),
    per_base={
        "EUR": Decimal("1"),
        "USD": Decimal("1.0850"),
        "GBP": Decimal("0.8550"),
        "CHF": Decimal("0.9400"),
        "CAD": Decimal("1.4800"),
        "JPY": Decimal("162.50"),
        "SEK": Decimal("11.250"),
        "NOK": Decimal("11.600"),
        "DKK": Decimal("7.4600"),
        "PLN": Decimal("4.3000"),
        "AUD": Decimal("1.6500"),
        "SGD": Decimal("1.4500"),
        "INR": Decimal("90.500"),
        "BRL": Decimal("6.0500"),
    },
)
assert set(DEFAULT_RATES.per_base) == set(CURRENCIES), "every supported currency needs a default rate"


def eur_rate_for_vat(currency: str, rates: RatesTable = DEFAULT_RATES) -> tuple[Decimal | None, date | None]:
    """(EUR for one unit of `currency`, to 6 decimals; the table's date) for an invoice in another currency than EUR,
    which states its VAT in EUR; (None, None) for EUR."""
    if currency == "EUR":
        return None, None
    return rates.rate(currency, "EUR").quantize(Decimal("0.000001")), rates.as_of
