"""A member's legal data, versioned, and the proof documents it uploaded for the review by ops."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, IdMixin, TimestampMixin


class LegalVersion(IdMixin, TimestampMixin, Base):
    """One version of a member's legal data (name, form, address, registry number, VAT or tax id, bank details).

    draft -> submitted -> approved | changes_requested; an approved version is copied onto the member's row (which
    the invoices read) and the one approved before it becomes superseded. Rows are never edited after submission."""

    __tablename__ = "legal_versions"
    __table_args__ = (UniqueConstraint("member_id", "version"),)

    member_id: Mapped[uuid.UUID] = mapped_column(index=True, doc="organisation id or expert id")
    community: Mapped[str] = mapped_column(String(24))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), doc="draft | submitted | approved | changes_requested | superseded")
    data: Mapped[dict[str, str | None]] = mapped_column(JSON)
    submitted_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(doc="the ops user (the audit log says more)")
    reason: Mapped[str] = mapped_column(Text, default="")


class MemberDocument(IdMixin, TimestampMixin, Base):
    """A proof document of a member: its bytes are sealed (AES-GCM, data key `key_id`, bound to the member) before
    they reach the document store; the record names what its content was found to be (documents.uploads)."""

    __tablename__ = "member_documents"

    member_id: Mapped[uuid.UUID] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(24), doc="domain.onboarding.PROOF_KINDS")
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"))
    key_id: Mapped[str] = mapped_column(String(32), doc="the data key that sealed the bytes")
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
