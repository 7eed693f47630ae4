"""Mission read models for the API, and request bodies derived from the workflow commands.

A request body is the workflow command without its `actor`: the API sets the actor from the authenticated
account, so nobody can act in another's name, and the body and the command can never drift apart.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, create_model

from domain.actors import Actor
from domain.mission import Command

_bodies: dict[type[Command], type[BaseModel]] = {}


def body_of(command: type[Command]) -> type[BaseModel]:
    """The request body of a command: its fields without `actor`."""
    if command not in _bodies:
        fields: dict[str, Any] = {
            name: (info.annotation, info) for name, info in command.model_fields.items() if name != "actor"
        }
        name = command.__name__ + "Body"
        model = create_model(name, __config__=ConfigDict(extra="forbid"), **fields)
        model.__doc__ = command.__doc__
        _bodies[command] = cast(type[BaseModel], model)
    return _bodies[command]


def to_command(command: type[Command], body: BaseModel, actor: Actor) -> Command:
    return command.model_validate({**body.model_dump(), "actor": actor})


class MissionSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    workflow_id: str
    title: str
    business_function: str
    stage: str
    paused: bool
    client_org_id: UUID
    selected_expert_id: UUID | None
    next_deadline: datetime | None
    created_at: datetime
    updated_at: datetime


class MissionPage(BaseModel):
    items: list[MissionSummary]
    total: int
    limit: int
    offset: int


class TimelineEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    workflow_id: str
    at: datetime
    kind: str
    stage: str
    actor_role: str | None
    summary: str


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    mission_id: UUID
    workflow_id: str
    key: str
    role: str
    action: str
    title: str
    due_at: datetime | None
    opened_at: datetime
    form: str = Field(default="", description="the API route that completes this task")


class MilestoneSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    title: str
    amount: Decimal
    currency: str
    stage: str
    invoice_number: str | None
    invoice_due: date | None
    paid_on: date | None


class MissionDetail(BaseModel):
    mission: MissionSummary
    timeline: list[TimelineEntry]
    milestones: list[MilestoneSummary]
    open_tasks: list[TaskRead]


class HistoryEvent(BaseModel):
    id: int
    at: str
    type: str
    name: str
    failure: str
