"""Read-your-writes for the callers that show a page right after an action: the workflow answers first and its
read-model batch lands a few milliseconds later (workflows/_lifecycle.py); these wait for it, bounded."""

from __future__ import annotations

import json
from typing import Any

import anyio
from fastapi import Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models.readmodel import TimelineEvent

SETTLE_SECONDS = 5.0


async def settled(answer: Any, session: Session) -> None:
    """Wait (at most SETTLE_SECONDS) until the read model holds the event an action's answer reports (its workflow id
    and version), so that the page the portal redirects to already shows the action. The JSON API answers at once."""
    if isinstance(answer, Response):
        try:
            answer = json.loads(bytes(answer.body))
        except ValueError:
            return
    if isinstance(answer, BaseModel):
        answer = answer.model_dump(mode="json")
    if not isinstance(answer, dict) or not answer.get("workflow_id") or not answer.get("version"):
        return
    query = select(TimelineEvent.id).where(
        TimelineEvent.workflow_id == answer["workflow_id"], TimelineEvent.seq >= int(answer["version"])
    )

    def landed() -> bool:
        found = session.scalar(query.limit(1)) is not None
        session.rollback()  # end the read: the next look sees what committed since
        return found

    with anyio.move_on_after(SETTLE_SECONDS):
        while not await anyio.to_thread.run_sync(landed):  # noqa: ASYNC110 - written by another process: no event
            await anyio.sleep(0.02)
