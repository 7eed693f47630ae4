"""Validation of legal identifiers (SIREN, SIRET, VAT and other tax identifiers, bank details), countries and
passwords.

Each function returns the normalised value or raises ValueError with a message a user can act on; pydantic turns
it into a 422 naming the field.
"""

from __future__ import annotations

import re
import reprlib
from types import ModuleType
from typing import Literal

from babel import Locale
from stdnum import bic as _bic
from stdnum import iban as _iban
from stdnum.ca import bn as _ca_bn
from stdnum.ch import vat as _ch_vat
from stdnum.eu import vat as _vat
from stdnum.exceptions import ValidationError
from stdnum.fr import siren as _siren
from stdnum.fr import siret as _siret
from stdnum.gb import vat as _gb_vat
from stdnum.no import mva as _no_mva
from stdnum.us import ein as _us_ein
from stdnum.us import rtn as _us_rtn
from stdnum.util import get_cc_module

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


TaxIdKind = Literal["vat", "tax"]
# Outside the EU, the schemes we know by name. A "vat" identifier is a VAT number (EN 16931 BT-31/BT-48, with its
# country prefix); a "tax" one is another tax registration (BT-32), e.g. a US EIN, which is no VAT number.
_TAX_SCHEMES: dict[str, tuple[TaxIdKind, ModuleType, str]] = {
    "GB": ("vat", _gb_vat, "UK VAT number (GB123456789)"),
    "CH": ("vat", _ch_vat, "Swiss UID with its VAT suffix (CHE-123.456.789 MWST, TVA or IVA)"),
    "LI": ("vat", _ch_vat, "UID with its VAT suffix (CHE-123.456.789 MWST)"),
    "NO": ("vat", _no_mva, "Norwegian VAT number (123456789MVA)"),
    "US": ("tax", _us_ein, "US Employer Identification Number (EIN, 12-3456789)"),
    "CA": ("tax", _ca_bn, "Canadian Business Number (BN, 9 or 15 characters)"),
}
_FREE_TAX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./-]{2,30}$")


def tax_identifier(value: str, country: str) -> tuple[TaxIdKind, str]:
    """The kind and normalised form of a party's tax identifier in its country: an EU VAT number in the EU, the
    national scheme elsewhere (validated by python-stdnum where it knows one)."""
    country = country.upper()
    if country in EU_COUNTRIES:
        return "vat", vat_number(value, country)
    known = _TAX_SCHEMES.get(country)
    if known is not None:
        kind, module, what = known
        try:
            number = str(module.validate(value))
        except ValidationError as exc:
            raise ValueError(f"invalid tax identifier {value!r} for {country}: {exc} (expected a {what})") from exc
        if country == "GB":
            number = f"GB{number}"
        elif country == "US":
            number = str(module.format(number))
        return kind, number
    found = get_cc_module(country.lower(), "vat") or get_cc_module(country.lower(), "tin")
    if found is not None:
        try:
            return "tax", str(found.validate(value))
        except ValidationError as exc:
            raise ValueError(f"invalid tax identifier {value!r} for {country}: {exc}") from exc
    if not _FREE_TAX_ID.fullmatch(value.strip()):
        raise ValueError(f"invalid tax identifier {reprlib.repr(value)}: 3 to 31 letters, digits, spaces, . / -")
    return "tax", value.strip()


def bic(value: str) -> str:
    try:
        return str(_bic.validate(value))
    except ValidationError as exc:
        raise ValueError(f"invalid BIC/SWIFT code {value!r}: {exc} (8 or 11 characters, e.g. DEUTDEFF)") from exc


def aba_routing_number(value: str) -> str:
    try:
        return str(_us_rtn.validate(value))
    except ValidationError as exc:
        raise ValueError(f"invalid ABA routing number {value!r}: {exc} (9 digits with a valid check digit)") from exc


def account_number(value: str) -> str:
    number = re.sub(r"[\s-]", "", value)
    if not re.fullmatch(r"[A-Za-z0-9]{4,34}", number):
        raise ValueError(f"invalid bank account number {reprlib.repr(value)}: 4 to 34 letters or digits")
    return number


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
