"""What the portal's forms offer to choose from, in the reader's language: skills of the taxonomy grouped by business
function and skill group (with the words a search finds them by), languages and countries by their names (babel's
CLDR data), currencies, amounts written the local way; and the API's 422 mapped back to the form's fields.

Every template gets `pick` (a `Pickers` for its language) and the `money` and `size` filters (api.web.core)."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from babel import Locale
from babel.numbers import format_currency, format_decimal
from babel.units import format_unit
from pydantic import ValidationError

from domain.identifiers import _COUNTRIES, _LANGUAGES
from domain.money import CURRENCIES
from domain.taxonomy import DATA_FILE


def fold(text: str) -> str:
    """Lower case, no accents: how a search compares (the script folds what is typed the same way)."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(plain.lower().replace("_", " ").split())


@dataclass(frozen=True)
class SkillChoice:
    key: str
    label: str
    terms: str  # every name the skill goes by (both languages, synonyms, its key), folded: what a search matches


@dataclass(frozen=True)
class SkillGroup:
    label: str
    skills: tuple[SkillChoice, ...]


@dataclass(frozen=True)
class FunctionChoice:
    key: str
    label: str
    groups: tuple[SkillGroup, ...]

    def skill_keys(self) -> set[str]:
        return {s.key for g in self.groups for s in g.skills}


@cache
def _taxonomy_data() -> dict[str, Any]:
    with DATA_FILE.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def _by_name(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Sorted by name, each name capitalised as a choice in a list is (CLDR writes French ones in lower case)."""
    return sorted(((code, name[:1].upper() + name[1:]) for code, name in pairs), key=lambda pair: fold(pair[1]))


class Pickers:
    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.locale = Locale.parse(lang)

    @cache  # noqa: B019 - one Pickers per language, for the life of the process
    def skills(self) -> tuple[FunctionChoice, ...]:
        """Every business function with its skill groups and skills, in the taxonomy's order, labels in the reader's
        language."""
        functions = []
        for fkey, fdata in _taxonomy_data()["functions"].items():
            groups = []
            for gdata in fdata["groups"].values():
                skills = tuple(
                    SkillChoice(
                        skey,
                        sdata[self.lang] if self.lang in sdata else sdata["en"],
                        fold(" | ".join([skey, sdata["en"], sdata["fr"], *sdata["synonyms"]])),
                    )
                    for skey, sdata in gdata["skills"].items()
                )
                groups.append(SkillGroup(gdata.get(self.lang, gdata["en"]), skills))
            functions.append(FunctionChoice(fkey, fdata.get(self.lang, fdata["en"]), tuple(groups)))
        return tuple(functions)

    @cache  # noqa: B019
    def languages(self) -> list[tuple[str, str]]:
        names = self.locale.languages
        return _by_name((code, str(names.get(code, code))) for code in _LANGUAGES)

    @cache  # noqa: B019
    def countries(self) -> list[tuple[str, str]]:
        names = self.locale.territories
        return _by_name((code, str(names.get(code, code))) for code in _COUNTRIES)

    @cache  # noqa: B019
    def currencies(self) -> list[tuple[str, str]]:
        names = self.locale.currencies
        return sorted((code, f"{code} — {names.get(code, code)}") for code in CURRENCIES)

    def money(self, amount: Decimal | float | str | None, currency: str | None = None) -> str:
        """An amount as the reader writes it (`4 250,00 €`, `€4,250.00`); without a currency, the number alone."""
        if amount in (None, ""):
            return "—"
        value = Decimal(str(amount))
        if currency:
            return str(format_currency(value, currency, locale=self.locale))
        return str(format_decimal(value, format="#,##0.00", locale=self.locale))

    def file_size(self, size: int) -> str:
        """A file's size as the reader writes it (`12.3 kB`, `12,3 ko`)."""
        for unit, scale in (("digital-megabyte", 1_000_000), ("digital-kilobyte", 1000)):
            if size >= scale:
                return str(format_unit(size / scale, unit, length="short", format="#,##0.#", locale=self.locale))
        return str(format_unit(size, "digital-byte", length="short", locale=self.locale))

    @staticmethod
    def chosen(values: Any, name: str) -> set[str]:
        """The values of a multiple choice kept from the form (a list) or from a record (a list or a comma list)."""
        found = values.get(name) or []
        if isinstance(found, str):
            found = found.split(",")
        return {str(v).strip() for v in found if str(v).strip()}


PICKERS = {lang: Pickers(lang) for lang in ("en", "fr")}


def field_messages(exc: Exception, fields: Sequence[str]) -> dict[str, str]:
    """The API's 422, field by field, under the form's names: the first part of each error's location that is a
    field of the form (`skills.0` -> `skills`, `profile.country` -> `country`); the first message per field."""
    if not isinstance(exc, ValidationError):
        return {}
    found: dict[str, str] = {}
    for error in exc.errors():
        parts = [str(p) for p in error["loc"]]
        name = next((p for p in parts if p in fields), None)
        if name is None and error["type"] in ("value_error", "assertion_error"):
            name = next((f for f in fields if f in str(error["msg"])), None)
        if name is not None:
            found.setdefault(name, str(error["msg"]).removeprefix("Value error, "))
    return found
