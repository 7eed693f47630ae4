"""The API route of each action of `domain.actions`, for either audience (the parties' `/missions/...` and ops'
`/ops/missions/...`): one builder, so an action's route is shaped the same way whoever takes it.

The route is generated from the action's declaration: its path, summary and name, its body (the command's fields
without the actor), and its answer (the view of the mission, or of its milestone or dispute). `api.service.act`
does the rest: membership and role checks, the second factor where the act needs one, the workflow Update, errors
and audit.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session
from temporalio.client import Client

from api import service
from api.deps import CurrentUser, OpsUser, SessionDep, SettingsDep, TemporalDep
from api.schemas.missions import body_of
from api.views import json_response
from config.settings import Settings
from domain.actions import Action, Scope, Who
from domain.dispute import DisputeView
from domain.mission import MilestoneView, MissionView
from store.models.community import User

Number = Annotated[int, Path(ge=1, le=50, description="milestone (or dispute) number, from 1")]
ANSWERS: dict[Scope, type[BaseModel]] = {
    Scope.MISSION: MissionView,
    Scope.MILESTONE: MilestoneView,
    Scope.DISPUTE: DisputeView,
}


def add_action_routes(router: APIRouter, actions: Iterable[Action]) -> None:
    """Add to `router` a POST route for each of `actions` (at `Action.route()`, under the router's prefix)."""
    for action in actions:
        _add_route(router, action)


@dataclass(frozen=True)
class Door:
    """What every action route hands the service, whatever its path and body: the action, who takes it, and the
    request's session, settings and Temporal client."""

    action: Action
    user: User
    session: Session
    settings: Settings
    client: Client

    async def act(self, mission_id: uuid.UUID, body: BaseModel, number: int | None = None) -> Response:
        view = await service.act(
            self.session,
            self.client,
            user=self.user,
            mission_id=mission_id,
            action=self.action,
            fields=body,
            number=number,
            settings=self.settings,
        )
        return json_response(view)


def _add_route(router: APIRouter, action: Action) -> None:
    Body = body_of(action.command, second_factor=action.needs_second_factor)  # noqa: N806 - a type
    # ops routes also need the account's second factor enrolled; a party's role is checked by the service
    Taker = OpsUser if action.who is Who.OPS else CurrentUser  # noqa: N806 - a type alias, named as the others

    async def door_of(user: Taker, session: SessionDep, settings: SettingsDep, client: TemporalDep) -> Door:  # type: ignore[valid-type]
        return Door(action, user, session, settings, client)

    async def mission_action(
        mission_id: uuid.UUID,
        body: Body,  # type: ignore[valid-type]
        door: Annotated[Door, Depends(door_of)],
    ) -> Response:
        return await door.act(mission_id, body)

    async def numbered_action(
        mission_id: uuid.UUID,
        number: Number,
        body: Body,  # type: ignore[valid-type]
        door: Annotated[Door, Depends(door_of)],
    ) -> Response:
        return await door.act(mission_id, body, number)

    endpoint = mission_action if action.scope is Scope.MISSION else numbered_action
    endpoint.__name__ = action.name.replace(":", "_")
    router.add_api_route(
        action.route().removeprefix(router.prefix),
        endpoint,
        methods=["POST"],
        response_model=ANSWERS[action.scope],
        summary=action.summary,
        name=action.name,
    )
