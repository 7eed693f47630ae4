"""The expert directory clients search: which parts of a profile an expert makes public, what a search asks, and
the full-text query built from a client's words. Pure code; `store.directory` runs the search (SQLite FTS5 on the
embedded default, PostgreSQL full-text in production) and `api.routers.directory` serves it.

An expert chooses what clients see beyond their name, business functions and reputation. A part kept private is
neither shown nor searchable: a filter on it (a skill, a language, a rate...) never matches that expert, and its
words (headline, portfolio) are not in the full-text index, so that no search can tell what it holds.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Literal, get_args

from pydantic import BaseModel, Field

from domain.taxonomy import SkillLevel

PublicField = Literal["headline", "skills", "languages", "countries", "rate", "availability", "portfolio", "cv"]
PUBLIC_FIELDS: tuple[str, ...] = get_args(PublicField)
# what a new profile shows: everything but the CV, which the expert adds on purpose
DEFAULT_PUBLIC: tuple[str, ...] = tuple(f for f in PUBLIC_FIELDS if f != "cv")
MAX_PORTFOLIO = 20


class PortfolioEntry(BaseModel):
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=4000)
    year: int | None = Field(default=None, ge=1950, le=2100)
    url: str | None = Field(default=None, max_length=500, pattern=r"^https://\S+$")


class DirectoryQuery(BaseModel):
    """A client's search of the directory; every filter is optional."""

    q: str | None = Field(default=None, max_length=200, description="words of the headline and portfolio")
    function: str | None = Field(default=None, description="business function (taxonomy key or synonym)")
    skill: str | None = Field(default=None, description="skill (taxonomy key or synonym)")
    min_level: SkillLevel | None = Field(default=None, description="with `skill`: at least this level")
    language: str | None = Field(default=None, min_length=2, max_length=3)
    country: str | None = Field(default=None, min_length=2, max_length=2, description="lives in, or works on site")
    max_rate: Decimal | None = Field(default=None, gt=0, max_digits=14, decimal_places=2)
    currency: str = Field(default="EUR", min_length=3, max_length=3, description="of `max_rate`")
    available_by: date | None = Field(default=None, description="available from this date at the latest")
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=10_000)


_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def search_words(text: str) -> list[str]:
    """The words of a client's full-text query (letters and digits only: no operator of either engine passes)."""
    return [w.lower() for w in _WORD.findall(text)][:12]


def fts5_query(words: list[str]) -> str:
    """SQLite FTS5: every word, each as a prefix (`financ` finds `finance`)."""
    return " AND ".join(f'"{w}"*' for w in words)


def tsquery(words: list[str]) -> str:
    """PostgreSQL to_tsquery('simple', ...): every word, each as a prefix."""
    return " & ".join(f"{w}:*" for w in words)


def search_text(headline: str, portfolio: list[PortfolioEntry], public: set[str]) -> str:
    """What the full-text index holds of a profile: its public headline and portfolio only."""
    parts = [headline] if "headline" in public else []
    if "portfolio" in public:
        parts += [f"{p.title} {p.description}" for p in portfolio]
    return "\n".join(x for x in parts if x)
