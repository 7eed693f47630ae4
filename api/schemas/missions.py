"""Mission read models for the API, and request bodies derived from the workflow commands.

A request body is the workflow command without its `actor`: the API sets the actor from the authenticated
account, so nobody can act in another's name, and the body and the command can never drift apart.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from domain.actors import Actor
from domain.mission import Command
from domain.need import Need, start_date_problem
from domain.taxonomy import FunctionKey, SkillKeys


def today() -> date:
    """The date a new need's start date is checked against (UTC). Looked up at each check: tests move it."""
    return datetime.now(UTC).date()


class NeedSubmission(Need):
    """A need as a client submits or revises it, through any door (API, portal): besides the rules of every need,
    its business function and skills must be in the taxonomy (synonyms are rewritten to keys, an unknown term is
    refused with its close matches) and it starts between today and the horizon. These are checked when the need
    comes in only: a running mission's need stays valid when the day passes or the taxonomy changes."""

    business_function: FunctionKey = Field(max_length=64, description="taxonomy key, label or synonym")
    skills: SkillKeys = Field(min_length=1, max_length=30, description="taxonomy skill keys, labels or synonyms")

    @field_validator("start_date")
    @classmethod
    def _starts_soon(cls, start: date) -> date:
        problem = start_date_problem(start, today())
        if problem:
            raise ValueError(problem)
        return start

    def as_need(self) -> Need:
        """The plain need the workflow carries."""
        return Need.model_validate(self.model_dump())


_bodies: dict[tuple[type[Command], bool], type[BaseModel]] = {}
# Types a command carries that arrive through a door with rules of their own.
_AT_THE_DOOR: dict[Any, Any] = {Need: NeedSubmission}
OTP_FIELD = Field(
    default=None,
    max_length=32,
    description="the 6-digit code of your authenticator app: a legal act is confirmed by the second factor",
)


def body_of(command: type[Command], *, second_factor: bool = False) -> type[BaseModel]:
    """The request body of a command: its fields without `actor` (and, for an act that needs the second factor,
    the `otp` the door checks; it never reaches the workflow)."""
    key = (command, second_factor)
    if key not in _bodies:
        fields: dict[str, Any] = {
            name: (_AT_THE_DOOR.get(info.annotation, info.annotation), info)
            for name, info in command.model_fields.items()
            if name != "actor"
        }
        if second_factor:
            fields["otp"] = (str | None, OTP_FIELD)
        name = command.__name__ + "Body"
        model = create_model(name, __config__=ConfigDict(extra="forbid"), **fields)
        model.__doc__ = command.__doc__
        _bodies[key] = cast(type[BaseModel], model)
    return _bodies[key]


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


class RatingRead(BaseModel):
    """A rating of the mission, as the reader may see it (double-blind until revealed)."""

    model_config = ConfigDict(from_attributes=True)

    by: str = Field(description="client (rated the expert) | expert (rated the client)")
    score: int
    comment: str
    at: datetime
    revealed_at: datetime | None = Field(description="null: only its author (and ops) see it yet")
    reply: str = Field(description="the rated party's public answer, once")
    replied_at: datetime | None


class MissionDetail(BaseModel):
    mission: MissionSummary
    timeline: list[TimelineEntry]
    milestones: list[MilestoneSummary]
    open_tasks: list[TaskRead]
    ratings: list[RatingRead] = Field(default_factory=list)


class HistoryEvent(BaseModel):
    id: int
    at: str
    type: str
    name: str
    failure: str
