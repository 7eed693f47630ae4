"""The expert directory in SQL: keep each expert's searchable words, search the active experts with a client's
filters and words (FTS5 on SQLite, full-text search on PostgreSQL), and shape a profile as clients may see it.

Set-valued fields (skills, languages, countries, business functions) are JSON arrays: a filter on one matches its
JSON text (`"key"`, quotes included, so that a key never matches inside another). The search starts from the
indexed `membership_active` column; a directory of a few hundred thousand experts is then a scan of the active
rows' filters, well under the time of a page.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, cast, false, func, or_, select, text
from sqlalchemy.orm import Session

from domain.directory import DirectoryQuery, PortfolioEntry, fts5_query, search_text, search_words, tsquery
from domain.fx import RatesTable, UnknownCurrencyError
from domain.taxonomy import SKILL_LEVELS, get_taxonomy
from store.models.community import Expert
from store.models.directory import ExpertSearch, PortfolioEntryRecord


class UnknownTerm(ValueError):
    """A filter names a business function or skill the taxonomy does not know (the message says which)."""


def portfolio_of(session: Session, expert_id: uuid.UUID) -> list[PortfolioEntryRecord]:
    return list(
        session.scalars(
            select(PortfolioEntryRecord)
            .where(PortfolioEntryRecord.expert_id == expert_id)
            .order_by(PortfolioEntryRecord.position)
        )
    )


def replace_portfolio(session: Session, expert: Expert, entries: list[PortfolioEntry]) -> None:
    for old in portfolio_of(session, expert.id):
        session.delete(old)
    session.flush()
    for n, entry in enumerate(entries):
        session.add(PortfolioEntryRecord(expert_id=expert.id, position=n, **entry.model_dump()))
    session.flush()


def reindex(session: Session, expert: Expert) -> None:
    """Store the expert's public words for full-text search (after any change of headline, portfolio or what is
    public), in the caller's transaction."""
    portfolio = [PortfolioEntry(title=p.title, description=p.description) for p in portfolio_of(session, expert.id)]
    body = search_text(expert.headline, portfolio, set(expert.public_fields or ()))
    row = session.get(ExpertSearch, expert.id)
    if row is None:
        session.add(ExpertSearch(expert_id=expert.id, body=body))
    elif row.body != body:
        row.body = body
    session.flush()


def _holds(column: Any, value: str) -> ColumnElement[bool]:
    """The JSON array (or object keys) in `column` holds `value`."""
    return cast(column, String).like(f'%"{value}"%')


def _public(name: str) -> ColumnElement[bool]:
    return _holds(Expert.public_fields, name)


def _matching_words(session: Session, words: list[str]) -> Select[tuple[uuid.UUID]]:
    if session.get_bind().dialect.name == "sqlite":
        hits = "expert_search.rowid IN (SELECT rowid FROM expert_search_fts WHERE expert_search_fts MATCH :words)"
        return select(ExpertSearch.expert_id).where(text(hits).bindparams(words=fts5_query(words)))
    vector = func.to_tsvector("simple", ExpertSearch.body)
    return select(ExpertSearch.expert_id).where(vector.bool_op("@@")(func.to_tsquery("simple", tsquery(words))))


def _conditions(session: Session, q: DirectoryQuery, rates: RatesTable) -> list[ColumnElement[bool]]:
    tax = get_taxonomy()
    where: list[ColumnElement[bool]] = [Expert.membership_active.is_(True)]
    if q.function:
        function = tax.resolve_function(q.function)
        if function is None:
            raise UnknownTerm(f"function: unknown business function {q.function!r}")
        where.append(_holds(Expert.business_functions, function))
    if q.skill:
        skill = tax.resolve_skill(q.skill)
        if skill is None:
            raise UnknownTerm(f"skill: unknown skill {q.skill!r}")
        where += [_public("skills"), _holds(Expert.skills, skill)]
        if q.min_level:
            levels = SKILL_LEVELS[SKILL_LEVELS.index(q.min_level) :]
            where.append(or_(*(cast(Expert.skill_levels, String).like(f'%"{skill}": "{lv}"%') for lv in levels)))
    if q.language:
        where += [_public("languages"), _holds(Expert.languages, q.language.lower())]
    if q.country:
        country = q.country.upper()
        where.append(or_(Expert.country == country, and_(_public("countries"), _holds(Expert.countries, country))))
    if q.max_rate is not None:
        within = []
        for currency in rates.per_base:
            try:
                limit = (q.max_rate * rates.rate(q.currency.upper(), currency)).quantize(Decimal("0.01"))
            except UnknownCurrencyError as exc:
                raise UnknownTerm(f"currency: {exc}") from exc
            within.append(and_(Expert.currency == currency, Expert.daily_rate <= limit))
        where += [_public("rate"), or_(*within) if within else false()]
    if q.available_by is not None:
        where += [_public("availability"), Expert.available_from <= q.available_by]
    words = search_words(q.q or "")
    if words:
        where.append(Expert.id.in_(_matching_words(session, words)))
    return where


@dataclass(frozen=True)
class Found:
    experts: list[Expert]
    total: int


def search(session: Session, q: DirectoryQuery, rates: RatesTable) -> Found:
    """The active experts matching every filter the client gave, best reputation first (UnknownTerm for a
    function, skill or currency nobody knows)."""
    where = _conditions(session, q, rates)
    total = session.scalar(select(func.count(Expert.id)).where(*where)) or 0
    rows = session.scalars(
        select(Expert)
        .where(*where)
        .order_by(Expert.rating.desc(), Expert.ratings_count.desc(), Expert.completed_missions.desc(), Expert.id)
        .limit(q.limit)
        .offset(q.offset)
    )
    return Found(list(rows), int(total))


def listed(session: Session, expert_id: uuid.UUID) -> Expert | None:
    """The expert if clients can find them in the directory now (membership in good standing), else None."""
    expert = session.get(Expert, expert_id)
    return expert if expert is not None and expert.membership_active else None


def public_profile(session: Session, expert: Expert, *, with_portfolio: bool) -> dict[str, Any]:
    """The profile as a client sees it: name, business functions and reputation always; the rest as the expert
    chose (a private part is absent, not empty)."""
    public = set(expert.public_fields or ())
    card: dict[str, Any] = {
        "id": expert.id,
        "display_name": expert.display_name,
        "country": expert.country,
        "business_functions": list(expert.business_functions or ()),
        "reputation": {
            "rating": expert.rating,
            "ratings_count": expert.ratings_count,
            "completed_missions": expert.completed_missions,
        },
        "public_fields": sorted(public),
    }
    if "headline" in public:
        card["headline"] = expert.headline
    if "skills" in public:
        levels = expert.skill_levels or {}
        card["skills"] = [{"skill": s, "level": levels.get(s)} for s in expert.skills or ()]
    if "languages" in public:
        card["languages"] = list(expert.languages or ())
    if "countries" in public:
        card["countries"] = list(expert.countries or ())
        card["remote"] = expert.remote
    if "rate" in public:
        card["daily_rate"], card["currency"] = expert.daily_rate, expert.currency
    if "availability" in public:
        card["available_from"] = expert.available_from
        card["available_days_per_week"] = expert.available_days_per_week
    if "cv" in public:
        card["has_cv"] = expert.cv_document_id is not None
    if with_portfolio and "portfolio" in public:
        card["portfolio"] = [
            {"title": p.title, "description": p.description, "year": p.year, "url": p.url}
            for p in portfolio_of(session, expert.id)
        ]
    return card


def engaged(session: Session, expert_id: uuid.UUID, until: date) -> None:
    """A contract was signed: the expert is busy until `until` (the mission's last milestone), available after."""
    expert = session.get(Expert, expert_id)
    if expert is None:
        return
    after = date.fromordinal(until.toordinal() + 1)
    expert.engaged_until = until
    expert.available_from = max(expert.available_from, after)


def freed(session: Session, expert_id: uuid.UUID, on: date) -> None:
    """The signed mission ended (closed or cancelled): available again from `on`, unless the expert has set their
    availability since."""
    expert = session.get(Expert, expert_id)
    if expert is None or expert.engaged_until is None:
        return
    if expert.available_from == date.fromordinal(expert.engaged_until.toordinal() + 1):
        expert.available_from = on
    expert.engaged_until = None
