"""Who may see a mission. A mission of another organisation, or one an expert is not part of, is reported
exactly like a missing one (None), so that its existence does not leak."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from store.models.community import User
from store.models.readmodel import MissionExpert, MissionRecord

# An expert keeps access to a mission while invited or engaged; not after declining or being dropped.
EXPERT_VISIBLE = ("pending", "invited", "accepted", "selected", "withdrawn")


def visible_mission(
    session: Session, *, user: User, mission_id: uuid.UUID, with_detail: bool = False
) -> MissionRecord | None:
    """The mission if this user may see it (its materialised detail loaded too if asked), else None."""
    mission = session.get(MissionRecord, mission_id, options=[undefer(MissionRecord.detail)] if with_detail else ())
    if mission is None:
        return None
    if user.role == "ops":
        return mission
    if user.role == "client":
        return mission if mission.client_org_id == user.organisation_id else None
    if user.role == "expert" and user.expert_id is not None and expert_status(session, mission, user.expert_id):
        return mission
    return None


def expert_status(session: Session, mission: MissionRecord, expert_id: uuid.UUID) -> str | None:
    status = session.scalar(
        select(MissionExpert.status).where(MissionExpert.mission_id == mission.id, MissionExpert.expert_id == expert_id)
    )
    if mission.selected_expert_id == expert_id:
        return "selected"
    return status if status in EXPERT_VISIBLE else None
