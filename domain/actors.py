"""Who acts. The API builds an Actor from the authenticated account; workflow validators trust it."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class Role(StrEnum):
    CLIENT = "client"
    EXPERT = "expert"
    OPS = "ops"


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: UUID
    role: Role
    org_id: UUID | None = None  # set for client members
    expert_id: UUID | None = None  # set for experts
    org_role: str | None = None  # a client member's role in their organisation (domain.org_roles)


class Command(BaseModel):
    """What every update of a workflow takes: who acts, and what they ask."""

    actor: Actor
