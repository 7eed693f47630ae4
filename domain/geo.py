"""Countries matching and the seed know about: time zone, standard UTC offset, languages usually spoken,
currency, EU membership. Offsets are standard time (no daylight saving): good enough to rank overlap of
working hours, never used for deadlines."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CountryInfo:
    code: str
    timezone: str
    utc_offset_minutes: int
    languages: tuple[str, ...]
    currency: str
    eu: bool


_ROWS: tuple[tuple[str, str, int, tuple[str, ...], str, bool], ...] = (
    ("FR", "Europe/Paris", 60, ("fr", "en"), "EUR", True),
    ("BE", "Europe/Brussels", 60, ("fr", "nl", "en"), "EUR", True),
    ("DE", "Europe/Berlin", 60, ("de", "en"), "EUR", True),
    ("IT", "Europe/Rome", 60, ("it", "en"), "EUR", True),
    ("ES", "Europe/Madrid", 60, ("es", "en"), "EUR", True),
    ("NL", "Europe/Amsterdam", 60, ("nl", "en"), "EUR", True),
    ("PT", "Europe/Lisbon", 0, ("pt", "en"), "EUR", True),
    ("AT", "Europe/Vienna", 60, ("de", "en"), "EUR", True),
    ("LU", "Europe/Luxembourg", 60, ("fr", "de", "lb", "en"), "EUR", True),
    ("PL", "Europe/Warsaw", 60, ("pl", "en"), "PLN", True),
    ("SE", "Europe/Stockholm", 60, ("sv", "en"), "SEK", True),
    ("GB", "Europe/London", 0, ("en",), "GBP", False),
    ("CH", "Europe/Zurich", 60, ("de", "fr", "it", "en"), "CHF", False),
    ("NO", "Europe/Oslo", 60, ("no", "en"), "NOK", False),
    ("US", "America/New_York", -300, ("en", "es"), "USD", False),
    ("CA", "America/Toronto", -300, ("en", "fr"), "CAD", False),
    ("BR", "America/Sao_Paulo", -180, ("pt", "en"), "BRL", False),
    ("IN", "Asia/Kolkata", 330, ("en", "hi"), "INR", False),
    ("SG", "Asia/Singapore", 480, ("en", "zh"), "SGD", False),
    ("JP", "Asia/Tokyo", 540, ("ja", "en"), "JPY", False),
    ("AU", "Australia/Sydney", 600, ("en",), "AUD", False),
    ("MA", "Africa/Casablanca", 60, ("fr", "ar"), "EUR", False),
    ("SN", "Africa/Dakar", 0, ("fr", "wo"), "EUR", False),
)

COUNTRIES: dict[str, CountryInfo] = {row[0]: CountryInfo(*row) for row in _ROWS}
DEFAULT_UTC_OFFSET_MINUTES = 60  # Europe/Paris, where the platform operates from


def reference_offset(countries: list[str] | tuple[str, ...], fallback: int = DEFAULT_UTC_OFFSET_MINUTES) -> int:
    """UTC offset (minutes) the mission works in: the median of its countries' offsets, else ``fallback``."""
    offsets = sorted(COUNTRIES[c].utc_offset_minutes for c in countries if c in COUNTRIES)
    if not offsets:
        return fallback
    return offsets[len(offsets) // 2]
