"""Private messages. One thread per (mission, expert): the client's members see every thread of their mission,
an expert only their own. Bodies are stored AES-GCM encrypted (config.crypto), bound to their thread."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, IdMixin, utcnow


class Message(IdMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_thread", "mission_id", "expert_id", "created_at"),)

    mission_id: Mapped[uuid.UUID] = mapped_column()
    expert_id: Mapped[uuid.UUID] = mapped_column(doc="the thread: the expert this conversation is with")
    author_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    body_sealed: Mapped[str] = mapped_column(Text, doc="'<key id>:<base64 nonce+ciphertext>'")
    key_id: Mapped[str] = mapped_column(String(32), index=True, doc="for re-encryption after a key rotation")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
