"""What the expert directory adds to a profile: portfolio entries, and the full-text index of the public words.

`expert_search` holds, per expert, the words clients may search (their public headline and portfolio:
`domain.directory.search_text`). PostgreSQL searches it through a GIN index on its `to_tsvector('simple', body)`;
SQLite through the FTS5 table `expert_search_fts`, kept in step by triggers (both made by the migration, and by
`create_all` through the DDL below).
"""

from __future__ import annotations

import uuid

from sqlalchemy import DDL, ForeignKey, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, IdMixin, TimestampMixin


class PortfolioEntryRecord(IdMixin, TimestampMixin, Base):
    """One piece of work an expert shows: title, what was done, the year, a link."""

    __tablename__ = "expert_portfolio"

    expert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    year: Mapped[int | None] = mapped_column(Integer)
    url: Mapped[str | None] = mapped_column(String(500))


class ExpertSearch(Base):
    """The public words of one expert's profile, for full-text search."""

    __tablename__ = "expert_search"

    expert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"), primary_key=True)
    body: Mapped[str] = mapped_column(Text, default="")


# SQLite: an FTS5 index over expert_search.body (external content: the table's rowid), kept by triggers.
SQLITE_FTS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS expert_search_fts USING fts5("
    "body, content='expert_search', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS expert_search_ai AFTER INSERT ON expert_search BEGIN "
    "INSERT INTO expert_search_fts(rowid, body) VALUES (new.rowid, new.body); END",
    "CREATE TRIGGER IF NOT EXISTS expert_search_ad AFTER DELETE ON expert_search BEGIN "
    "INSERT INTO expert_search_fts(expert_search_fts, rowid, body) VALUES ('delete', old.rowid, old.body); END",
    "CREATE TRIGGER IF NOT EXISTS expert_search_au AFTER UPDATE ON expert_search BEGIN "
    "INSERT INTO expert_search_fts(expert_search_fts, rowid, body) VALUES ('delete', old.rowid, old.body); "
    "INSERT INTO expert_search_fts(rowid, body) VALUES (new.rowid, new.body); END",
)
# PostgreSQL: a GIN index on the text search vector the queries use (store.directory).
POSTGRES_FTS = (
    "CREATE INDEX IF NOT EXISTS ix_expert_search_body_fts ON expert_search USING gin (to_tsvector('simple', body))",
)
for _statement in SQLITE_FTS:
    event.listen(ExpertSearch.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))  # type: ignore[no-untyped-call]
for _statement in POSTGRES_FTS:
    event.listen(ExpertSearch.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql"))  # type: ignore[no-untyped-call]


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """For autogenerate: the full-text objects (SQLite's FTS5 table and its shadow tables, PostgreSQL's expression
    index) are made by the migration and the DDL above, not described by a model: never compared nor dropped."""
    return not (name or "").startswith(("expert_search_fts", "ix_expert_search_body_fts"))
