"""The business taxonomy matching ranks on: business functions, skill groups inside each function, skills,
each with fr/en labels and synonyms. Skill proximity comes from the tree: the same skill counts fully, a skill
of the same group counts partly, a skill of the same function a little.

The data lives in ``taxonomy_data.json`` next to this module (versioned with the code)."""

from __future__ import annotations

import difflib
import json
import reprlib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator

from domain.need import Need, Term

DATA_FILE = Path(__file__).with_name("taxonomy_data.json")

# How well an expert masters a skill of their profile, lowest first (the directory filters on a minimum level).
SKILL_LEVELS: tuple[str, ...] = ("working", "advanced", "expert")
SkillLevel = Literal["working", "advanced", "expert"]
SKILL_LEVEL_LABELS: dict[str, tuple[str, str]] = {  # level -> (en, fr)
    "working": ("working knowledge", "pratique courante"),
    "advanced": ("advanced", "avancé"),
    "expert": ("expert", "expert"),
}


def level_at_least(level: str | None, minimum: str) -> bool:
    """Whether a skill held at `level` (None: no level given, taken as working knowledge) meets `minimum`."""
    return SKILL_LEVELS.index(level or "working") >= SKILL_LEVELS.index(minimum)


# Skill proximity levels (exact / same group / same function / unrelated).
PROXIMITY_EXACT = 1.0
PROXIMITY_GROUP = 0.6
PROXIMITY_FUNCTION = 0.3


@dataclass(frozen=True, slots=True)
class Skill:
    key: str
    function: str
    group: str
    label_en: str
    label_fr: str
    synonyms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BusinessFunction:
    key: str
    label_en: str
    label_fr: str
    synonyms: tuple[str, ...]
    groups: tuple[str, ...]
    skills: tuple[str, ...]


def _fold(text: str) -> str:
    """Lower case, no accents, single spaces: how labels and synonyms are compared."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.lower().replace("_", " ").replace("-", " ").split())


class Taxonomy:
    """Immutable view of the taxonomy with the lookups matching needs. Indexes are stable for a data version."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.version: str = str(data.get("version", "unversioned"))
        functions: dict[str, BusinessFunction] = {}
        skills: dict[str, Skill] = {}
        groups: list[str] = []
        aliases: dict[str, str] = {}
        function_aliases: dict[str, str] = {}
        synonyms: list[tuple[str, str]] = []  # applied after every key and label, which take precedence
        for fkey, fdata in data["functions"].items():
            fskills: list[str] = []
            fgroups: list[str] = []
            for gkey, gdata in fdata["groups"].items():
                qualified_group = f"{fkey}/{gkey}"
                fgroups.append(qualified_group)
                groups.append(qualified_group)
                for skey, sdata in gdata["skills"].items():
                    if skey in skills:
                        raise ValueError(f"skill {skey!r} appears twice in the taxonomy")
                    skill = Skill(skey, fkey, qualified_group, sdata["en"], sdata["fr"], tuple(sdata["synonyms"]))
                    skills[skey] = skill
                    fskills.append(skey)
                    for alias in (skey, skill.label_en, skill.label_fr):
                        aliases.setdefault(_fold(alias), skey)
                    synonyms.extend((alias, skey) for alias in skill.synonyms)
            functions[fkey] = BusinessFunction(
                fkey, fdata["en"], fdata["fr"], tuple(fdata["synonyms"]), tuple(fgroups), tuple(fskills)
            )
            for alias in (fkey, fdata["en"], fdata["fr"], *fdata["synonyms"]):
                function_aliases.setdefault(_fold(alias), fkey)
        for alias, skey in synonyms:
            aliases.setdefault(_fold(alias), skey)
        self.functions: Mapping[str, BusinessFunction] = functions
        self.skills: Mapping[str, Skill] = skills
        self.skill_keys: tuple[str, ...] = tuple(skills)
        self.group_keys: tuple[str, ...] = tuple(groups)
        self.function_keys: tuple[str, ...] = tuple(functions)
        self.skill_index: Mapping[str, int] = {k: i for i, k in enumerate(self.skill_keys)}
        self.group_index: Mapping[str, int] = {k: i for i, k in enumerate(self.group_keys)}
        self.function_index: Mapping[str, int] = {k: i for i, k in enumerate(self.function_keys)}
        self._aliases = aliases
        self._function_aliases = function_aliases

    def resolve_skill(self, text: str) -> str | None:
        """Skill key for a key, an fr/en label or a synonym (case and accents ignored); None if unknown."""
        return self._aliases.get(_fold(text))

    def resolve_function(self, text: str) -> str | None:
        return self._function_aliases.get(_fold(text))

    def close_skills(self, text: str, n: int = 5) -> list[str]:
        """Skill keys whose key, label or synonym is spelt close to ``text`` (best first)."""
        return _close(text, self._aliases, n)

    def close_functions(self, text: str, n: int = 5) -> list[str]:
        return _close(text, self._function_aliases, n)

    def skill_key(self, text: str) -> str:
        """The skill key of a key, label or synonym; a ValueError naming the close matches if unknown."""
        key = self.resolve_skill(text)
        if key is None:
            raise TaxonomyError(self._unknown("skill", text, self.close_skills(text)))
        return key

    def function_key(self, text: str) -> str:
        key = self.resolve_function(text)
        if key is None:
            raise TaxonomyError(self._unknown("business function", text, self.close_functions(text)))
        return key

    def _unknown(self, kind: str, text: str, close: list[str]) -> str:
        if not close:
            return f"unknown {kind} {reprlib.repr(text)}: no close match in the taxonomy"
        shown = ", ".join(f"{k} ({self.label(k, 'en')})" for k in close)
        return f"unknown {kind} {reprlib.repr(text)}; close matches: {shown}"

    def proximity(self, wanted: str, offered: str) -> float:
        """How much an expert's skill ``offered`` covers the wanted skill."""
        if wanted == offered:
            return PROXIMITY_EXACT
        a, b = self.skills.get(wanted), self.skills.get(offered)
        if a is None or b is None:
            return 0.0
        if a.group == b.group:
            return PROXIMITY_GROUP
        if a.function == b.function:
            return PROXIMITY_FUNCTION
        return 0.0

    def label(self, key: str, language: str) -> str:
        if key in self.skills:
            s = self.skills[key]
            return s.label_fr if language == "fr" else s.label_en
        if key in self.functions:
            f = self.functions[key]
            return f.label_fr if language == "fr" else f.label_en
        return key


def _close(text: str, aliases: Mapping[str, str], n: int) -> list[str]:
    folded = _fold(text[:200])  # nobody's skill is longer; difflib's cost grows with the length
    # misspellings (difflib), then the aliases that contain what was typed ("mergers": "mergers & acquisitions")
    spelt = difflib.get_close_matches(folded, list(aliases), n=4 * n, cutoff=0.75)
    within = [a for a in aliases if len(folded) >= 3 and folded in a] if folded else []
    keys: list[str] = []
    for alias in spelt + within:
        if aliases[alias] not in keys:
            keys.append(aliases[alias])
    return keys[:n]


class TaxonomyError(ValueError):
    """A need or a profile names a business function or skills the taxonomy does not know."""


def validate_need(need: Need, taxonomy: Taxonomy | None = None) -> list[str]:
    """Problems with the need's business function and skills (empty list: valid). Synonyms are accepted;
    use :func:`normalise_need` to rewrite them to keys."""
    tax = taxonomy or get_taxonomy()
    problems: list[str] = []
    for check, text in ((tax.function_key, need.business_function), *((tax.skill_key, s) for s in need.skills)):
        try:
            check(text)
        except TaxonomyError as exc:
            problems.append(str(exc))
    return problems


def skill_key(text: str) -> str:
    """A skill as typed -> its taxonomy key (pydantic validator: a ValueError lists the close matches)."""
    return get_taxonomy().skill_key(text)


def function_key(text: str) -> str:
    return get_taxonomy().function_key(text)


def unique(keys: list[str]) -> list[str]:
    """Keys once each, in order (two synonyms of one skill resolve to the same key)."""
    return list(dict.fromkeys(keys))


SkillKey = Annotated[Term, AfterValidator(skill_key)]
FunctionKey = Annotated[Term, AfterValidator(function_key)]
SkillKeys = Annotated[list[SkillKey], AfterValidator(unique)]
FunctionKeys = Annotated[list[FunctionKey], AfterValidator(unique)]


def normalise_need(need: Need, taxonomy: Taxonomy | None = None) -> Need:
    """The need with its business function and skills rewritten to taxonomy keys (duplicates dropped, order
    kept) and language/country codes normalised. Raises :class:`TaxonomyError` listing every unknown term."""
    tax = taxonomy or get_taxonomy()
    problems = validate_need(need, tax)
    if problems:
        raise TaxonomyError("; ".join(problems))
    function = tax.resolve_function(need.business_function)
    skills: list[str] = []
    for text in need.skills:
        key = tax.resolve_skill(text)
        if key is not None and key not in skills:
            skills.append(key)
    return need.model_copy(
        update={
            "business_function": function,
            "skills": skills,
            "languages": sorted({lang.strip().lower() for lang in need.languages}),
            "countries": sorted({c.strip().upper() for c in need.countries}),
        }
    )


@lru_cache(maxsize=1)
def get_taxonomy() -> Taxonomy:
    with DATA_FILE.open(encoding="utf-8") as fh:
        return Taxonomy(json.load(fh))
