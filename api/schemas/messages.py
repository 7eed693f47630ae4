from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class MessageCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"body": "Could we move the kick-off to Monday?"}]})

    body: str = Field(min_length=1, max_length=20_000)


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    author_user_id: UUID
    author_name: str
    body: str
    created_at: datetime


class ThreadRead(BaseModel):
    expert_id: UUID
    messages: int
    last_message_at: datetime
