"""Validation of legal identifiers (SIREN, SIRET, VAT, IBAN), countries and passwords.

Each function returns the normalised value or raises ValueError with a message a user can act on; pydantic turns
it into a 422 naming the field.
"""

from __future__ import annotations

import re
import reprlib

from babel import Locale
from stdnum import iban as _iban
from stdnum.eu import vat as _vat
from stdnum.exceptions import ValidationError
from stdnum.fr import siren as _siren
from stdnum.fr import siret as _siret

EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
# CLDR's two-letter territories, less those that are not ISO 3166-1 countries: exceptionally reserved codes
# (AC, CP, CQ, DG, EA, IC, TA, EU, EZ, UN), private-use codes (QO, XA, XB, ZZ). XK (Kosovo, user-assigned) stays:
# the EU and most registries use it.
_NOT_ISO_3166 = frozenset({"AC", "CP", "CQ", "DG", "EA", "IC", "TA", "EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})
_COUNTRIES = frozenset(
    str(c) for c in Locale("en").territories if re.fullmatch(r"[A-Z]{2}", str(c)) and str(c) not in _NOT_ISO_3166
)
_LANGUAGES = frozenset(str(c) for c in Locale("en").languages if re.fullmatch(r"[a-z]{2}", str(c)))


def country(value: str) -> str:
    code = value.strip().upper()
    if code not in _COUNTRIES:
        raise ValueError(f"{reprlib.repr(value)} is not an ISO 3166-1 alpha-2 country code (e.g. FR, DE, US)")
    return code


def language(value: str) -> str:
    code = value.strip().lower()
    if code not in _LANGUAGES:
        raise ValueError(f"{reprlib.repr(value)} is not an ISO 639-1 language code (e.g. fr, en, de)")
    return code


def siren(value: str) -> str:
    try:
        return str(_siren.validate(value))
    except ValidationError as exc:
        raise ValueError(f"invalid SIREN {value!r}: {exc} (9 digits with a valid check digit)") from exc


def siret(value: str) -> str:
    try:
        return str(_siret.validate(value))
    except ValidationError as exc:
        raise ValueError(f"invalid SIRET {value!r}: {exc} (14 digits: SIREN + NIC)") from exc


def vat_number(value: str, expected_country: str | None = None) -> str:
    try:
        number = str(_vat.compact(value))
        _vat.validate(number)
    except ValidationError as exc:
        raise ValueError(f"invalid VAT number {value!r}: {exc}") from exc
    prefix = "GR" if number[:2] == "EL" else number[:2]
    if expected_country and expected_country in EU_COUNTRIES and prefix != expected_country:
        raise ValueError(f"VAT number {value!r} is not a {expected_country} number")
    return number


def iban(value: str) -> str:
    try:
        return str(_iban.validate(value))
    except ValidationError as exc:
        raise ValueError(f"invalid IBAN {value!r}: {exc}") from exc


def password_strength(value: str, *, email: str = "") -> str:
    """At least 12 characters, three kinds of characters, and not built on the e-mail address."""
    problems = []
    if len(value) < 12:
        problems.append("at least 12 characters")
    kinds = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))
    if kinds < 3:
        problems.append("three of: lower case, upper case, digit, symbol")
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in value.lower():
        problems.append("not containing your e-mail name")
    if problems:
        raise ValueError("password too weak: it needs " + "; ".join(problems))
    return value
