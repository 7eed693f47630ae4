"""Exposure of experts in shortlists: one row per (mission, expert), the source of Expert.recent_shortlists."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, IdMixin


class ShortlistExposure(IdMixin, Base):
    """An expert was put in front of a client for a mission. Unique per mission, so a retried activity
    never counts the same exposure twice."""

    __tablename__ = "shortlist_exposures"
    __table_args__ = (UniqueConstraint("mission_id", "expert_id"),)

    mission_id: Mapped[uuid.UUID] = mapped_column()
    expert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
