"""Where a user stands towards a mission (`domain.visibility`), read from the read model. Every read of a mission
goes through `visible`: a mission of another organisation, or one an expert has no standing in, is reported exactly
like a missing one (None), so that its existence does not leak; the standing it returns is what the reads filter
by (`api.views`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from domain.visibility import KEEPS_SIGHT, Standing, Viewer, standing
from store.models.community import User
from store.models.readmodel import MissionExpert, MissionRecord


@dataclass(frozen=True)
class Sight:
    """A mission as one viewer may see it: the row, and where the viewer stands."""

    mission: MissionRecord
    viewer: Viewer
    standing: Standing


def viewer_of(user: User) -> Viewer:
    org_role = user.org_role if user.role == "client" else None
    return Viewer(role=user.role, organisation_id=user.organisation_id, expert_id=user.expert_id, org_role=org_role)


def visible(session: Session, *, user: User, mission_id: uuid.UUID, with_detail: bool = False) -> Sight | None:
    """The mission and the user's standing in it (its materialised detail loaded too if asked), else None."""
    mission = session.get(MissionRecord, mission_id, options=[undefer(MissionRecord.detail)] if with_detail else ())
    if mission is None:
        return None
    return sight_of(session, user=user, mission=mission)


def visible_mission(
    session: Session, *, user: User, mission_id: uuid.UUID, with_detail: bool = False
) -> MissionRecord | None:
    """The mission if this user may see it (its materialised detail loaded too if asked), else None."""
    sight = visible(session, user=user, mission_id=mission_id, with_detail=with_detail)
    return sight.mission if sight is not None else None


def sight_of(session: Session, *, user: User, mission: MissionRecord) -> Sight | None:
    viewer = viewer_of(user)
    participation = None
    if viewer.role == "expert" and viewer.expert_id is not None and mission.selected_expert_id != viewer.expert_id:
        participation = _participation(session, mission.id, viewer.expert_id)
    place = standing(
        viewer,
        client_org_id=mission.client_org_id,
        selected_expert_id=mission.selected_expert_id,
        participation=participation,
    )
    return Sight(mission, viewer, place) if place is not None else None


def sights(session: Session, *, user: User, missions: Sequence[MissionRecord]) -> list[Sight]:
    """The missions of a list, each with the user's standing (one query for an expert's participations)."""
    viewer = viewer_of(user)
    statuses: dict[uuid.UUID, str] = {}
    if viewer.role == "expert" and missions:
        statuses = {
            mission_id: status
            for mission_id, status in session.execute(
                select(MissionExpert.mission_id, MissionExpert.status).where(
                    MissionExpert.expert_id == viewer.expert_id,
                    MissionExpert.mission_id.in_([m.id for m in missions]),
                )
            )
        }
    found = []
    for mission in missions:
        place = standing(
            viewer,
            client_org_id=mission.client_org_id,
            selected_expert_id=mission.selected_expert_id,
            participation=statuses.get(mission.id),
        )
        if place is not None:
            found.append(Sight(mission, viewer, place))
    return found


def expert_status(session: Session, mission: MissionRecord, expert_id: uuid.UUID) -> str | None:
    """The expert's participation in the mission if it gives them a standing, else None."""
    if mission.selected_expert_id == expert_id:
        return "selected"
    status = _participation(session, mission.id, expert_id)
    return status if status in KEEPS_SIGHT else None


def _participation(session: Session, mission_id: uuid.UUID, expert_id: uuid.UUID) -> str | None:
    return session.scalar(
        select(MissionExpert.status).where(MissionExpert.mission_id == mission_id, MissionExpert.expert_id == expert_id)
    )
