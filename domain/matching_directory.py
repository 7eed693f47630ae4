"""The expert directory as matching sees it: one ``ExpertProfile`` per expert, and the same profiles laid out
as numpy columns (``DirectoryArrays``) so that ``domain.matching`` scores every expert of the directory in one
pass per need.

Set-valued fields (skills, skill groups, business functions, languages, countries) are bitsets of 64-bit words
over a vocabulary (the taxonomy's indexes, or the languages and countries present in the directory): asking
"who holds this skill" is then one shift and one mask over a column.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from domain.taxonomy import Taxonomy, get_taxonomy

Bits = npt.NDArray[np.uint64]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
_MASK64 = (1 << 64) - 1
_ONE = np.uint64(1)


@dataclass(frozen=True, slots=True)
class ExpertProfile:
    """What matching needs to know about one expert (a projection of the ``experts`` row)."""

    id: uuid.UUID
    business_functions: tuple[str, ...]
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    country: str
    countries: tuple[str, ...]
    remote: bool
    utc_offset_minutes: int
    daily_rate: Decimal
    currency: str
    available_from: date
    available_days_per_week: int
    rating: Decimal
    ratings_count: int
    completed_missions: int
    recent_shortlists: int
    membership_active: bool = True


def has_bit(bits: Bits, index: int) -> Bools:
    """Rows whose bitset holds bit ``index``."""
    return ((bits[:, index >> 6] >> np.uint64(index & 63)) & _ONE).astype(bool)


def has_any_bit(bits: Bits, indexes: Iterable[int]) -> Bools:
    """Rows whose bitset holds at least one of ``indexes``."""
    words = _words_of(_mask(indexes), bits.shape[1])
    return np.asarray((bits & words).any(axis=1))


def has_all_bits(bits: Bits, indexes: Iterable[int]) -> Bools:
    """Rows whose bitset holds every one of ``indexes``."""
    words = _words_of(_mask(indexes), bits.shape[1])
    return np.asarray(((bits & words) == words).all(axis=1))


def _mask(indexes: Iterable[int]) -> int:
    mask = 0
    for i in indexes:
        mask |= 1 << i
    return mask


class _Masks(NamedTuple):
    skills: int
    groups: int
    skill_functions: int
    declared_functions: int
    languages: int
    onsite: int


def _masks_of(p: ExpertProfile, tax: Taxonomy, languages: dict[str, int], countries: dict[str, int]) -> _Masks:
    """The profile's sets as int bitmasks, in one plain loop each: this is most of a cold load of the directory."""
    skills = groups = skill_functions = declared = spoken = onsite = 0
    for key in p.skills:
        skill = tax.skills.get(key)
        if skill is not None:  # a skill the taxonomy no longer knows counts for nothing
            skills |= 1 << tax.skill_index[key]
            groups |= 1 << tax.group_index[skill.group]
            skill_functions |= 1 << tax.function_index[skill.function]
    for f in p.business_functions:
        if f in tax.function_index:
            declared |= 1 << tax.function_index[f]
    for lang in p.languages:
        spoken |= 1 << languages[lang]
    for c in p.countries:
        onsite |= 1 << countries[c]
    return _Masks(skills, groups, skill_functions, declared, spoken, onsite)


def _words_of(mask: int, n_words: int) -> Bits:
    return np.array([(mask >> (64 * w)) & _MASK64 for w in range(n_words)], dtype=np.uint64)


def _n_words(n_bits: int) -> int:
    return max(1, (n_bits + 63) // 64)


def _pack(masks: list[int], n_bits: int) -> Bits:
    """One row of 64-bit words per Python int bitmask."""
    n_words = _n_words(n_bits)
    out = np.zeros((len(masks), n_words), dtype=np.uint64)
    for w in range(n_words):
        shift = 64 * w
        out[:, w] = np.fromiter(((m >> shift) & _MASK64 for m in masks), dtype=np.uint64, count=len(masks))
    return out


def _index(values: Iterable[str]) -> dict[str, int]:
    return {v: i for i, v in enumerate(sorted(set(values)))}


@dataclass
class DirectoryArrays:
    """Column arrays of the directory, row i describing ``profiles[i]``."""

    profiles: list[ExpertProfile]
    row_of: dict[uuid.UUID, int]
    id_rank: Ints  # rank of str(id): the tie-break between equal scores
    skill_bits: Bits
    group_bits: Bits
    skill_function_bits: Bits  # functions in which the expert holds at least one skill
    declared_function_bits: Bits
    languages: dict[str, int]
    language_bits: Bits
    countries: dict[str, int]
    country: Ints  # index in ``countries``
    onsite_bits: Bits  # countries where on-site work is possible (own country excluded)
    remote: Bools
    utc_offset: Ints
    daily_rate: Floats
    currencies: list[str]
    currency: Ints  # index in ``currencies``
    available_from: Ints  # date ordinals
    days_per_week: Ints
    rating: Floats
    ratings_count: Ints
    completed: Ints
    recent_shortlists: Ints
    active: Bools

    def __len__(self) -> int:
        return len(self.profiles)

    @classmethod
    def build(cls, profiles: Sequence[ExpertProfile], tax: Taxonomy | None = None) -> DirectoryArrays:
        tax = tax or get_taxonomy()
        profiles = list(profiles)
        languages = _index(lang for p in profiles for lang in p.languages)
        countries = _index([p.country for p in profiles] + [c for p in profiles for c in p.countries])
        currencies = sorted({p.currency for p in profiles})
        currency_index = {c: i for i, c in enumerate(currencies)}
        masks = [_masks_of(p, tax, languages, countries) for p in profiles]
        ids = [str(p.id) for p in profiles]
        id_rank = np.empty(len(ids), dtype=np.int64)
        id_rank[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids), dtype=np.int64)

        def ints(values: list[int]) -> Ints:
            return np.array(values, dtype=np.int64)

        def floats(values: list[float]) -> Floats:
            return np.array(values, dtype=np.float64)

        def bools(values: list[bool]) -> Bools:
            return np.array(values, dtype=bool)

        return cls(
            profiles=profiles,
            row_of={p.id: i for i, p in enumerate(profiles)},
            id_rank=id_rank,
            skill_bits=_pack([m.skills for m in masks], len(tax.skill_keys)),
            group_bits=_pack([m.groups for m in masks], len(tax.group_keys)),
            skill_function_bits=_pack([m.skill_functions for m in masks], len(tax.function_keys)),
            declared_function_bits=_pack([m.declared_functions for m in masks], len(tax.function_keys)),
            languages=languages,
            language_bits=_pack([m.languages for m in masks], len(languages)),
            countries=countries,
            country=ints([countries[p.country] for p in profiles]),
            onsite_bits=_pack([m.onsite for m in masks], len(countries)),
            remote=bools([p.remote for p in profiles]),
            utc_offset=ints([p.utc_offset_minutes for p in profiles]),
            daily_rate=floats([float(p.daily_rate) for p in profiles]),
            currencies=currencies,
            currency=ints([currency_index[p.currency] for p in profiles]),
            available_from=ints([p.available_from.toordinal() for p in profiles]),
            days_per_week=ints([p.available_days_per_week for p in profiles]),
            rating=floats([float(p.rating) for p in profiles]),
            ratings_count=ints([p.ratings_count for p in profiles]),
            completed=ints([p.completed_missions for p in profiles]),
            recent_shortlists=ints([p.recent_shortlists for p in profiles]),
            active=bools([p.membership_active for p in profiles]),
        )
