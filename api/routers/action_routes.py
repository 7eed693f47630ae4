"""The API route of each action of `domain.actions`, for either audience (the parties' `/missions/...` and ops'
`/ops/missions/...`): one builder, so an action's route is shaped the same way whoever takes it.

The route is generated from the action's declaration: its path, summary and name, its body (the command's fields
without the actor), and its answer (the mission's view, or the milestone's). `api.service.act` does the rest:
membership and role checks, the second factor where the act needs one, the workflow Update, errors and audit.
"""

import uuid
from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Path, Response

from api import service
from api.deps import CurrentUser, OpsUser, SessionDep, SettingsDep, TemporalDep
from api.schemas.missions import body_of
from api.views import json_response
from domain.actions import Action, Scope, Who
from domain.mission import MilestoneView, MissionView

MilestoneNumber = Annotated[int, Path(ge=1, le=50, description="milestone number, from 1")]


def add_action_routes(router: APIRouter, actions: Iterable[Action]) -> None:
    """Add to `router` a POST route for each of `actions` (at `Action.route()`, under the router's prefix)."""
    for action in actions:
        _add_route(router, action)


def _add_route(router: APIRouter, action: Action) -> None:
    body_model = body_of(action.command, second_factor=action.needs_second_factor)
    # ops routes also need the account's second factor enrolled; a party's role is checked by the service
    User = OpsUser if action.who is Who.OPS else CurrentUser  # noqa: N806 - a type alias, named as the others

    async def mission_action(
        mission_id: uuid.UUID,
        body: body_model,  # type: ignore[valid-type]
        user: User,  # type: ignore[valid-type]
        session: SessionDep,
        settings: SettingsDep,
        client: TemporalDep,
    ) -> Response:
        view = await service.act(
            session, client, user=user, mission_id=mission_id, action=action, fields=body, settings=settings
        )
        return json_response(view)

    async def milestone_action(
        mission_id: uuid.UUID,
        number: MilestoneNumber,
        body: body_model,  # type: ignore[valid-type]
        user: User,  # type: ignore[valid-type]
        session: SessionDep,
        settings: SettingsDep,
        client: TemporalDep,
    ) -> Response:
        view = await service.act(
            session,
            client,
            user=user,
            mission_id=mission_id,
            action=action,
            fields=body,
            number=number,
            settings=settings,
        )
        return json_response(view)

    milestone = action.scope is Scope.MILESTONE
    endpoint = milestone_action if milestone else mission_action
    endpoint.__name__ = action.name.replace(":", "_")
    router.add_api_route(
        action.route().removeprefix(router.prefix),
        endpoint,
        methods=["POST"],
        response_model=MilestoneView if milestone else MissionView,
        summary=action.summary,
        name=action.name,
    )
