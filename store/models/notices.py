"""Who each notice reaches and how: one row per (notice, person), carrying the e-mail's delivery state and when
the person read it in the portal; and each person's choice per kind of notice."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, IdMixin, utcnow


class NoticeRecipient(IdMixin, Base):
    __tablename__ = "notice_recipients"
    __table_args__ = (UniqueConstraint("notification_id", "user_id"),)

    notification_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notifications.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    email_status: Mapped[str] = mapped_column(
        String(16),
        index=True,
        doc="pending | sending (claimed, handed to the server) | sent | digest (waits for the daily digest) | off | "
        "failed (refused for good: a bounce)",
    )
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_error: Mapped[str | None] = mapped_column(Text, doc="the SMTP server's last refusal or error")
    message_id: Mapped[str] = mapped_column(String(200), doc="the e-mail's Message-ID: the same on every attempt")
    emailed_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NoticePreference(Base):
    __tablename__ = "notice_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(48), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16), doc="immediate | digest | off")
