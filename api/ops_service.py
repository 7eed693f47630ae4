"""Ops actions on workflows, shared by the API, the portal and `innot ops`: run the update; an accepted action is
audited by the workflow itself, with the event it records (`workflows.readmodel.ops_audited`), a refused
one here (who, what, why, when, and the refusal)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import anyio
from fastapi import HTTPException
from sqlalchemy.orm import Session
from temporalio.client import Client

from api import gateway
from domain.mission import Command, MilestoneView, MissionView
from store.models.community import AuditEntry, User


def audit(session: Session, *, user: User, action: str, target: str, reason: str, details: dict[str, Any]) -> None:
    session.add(
        AuditEntry(
            at=datetime.now(UTC), actor_user_id=user.id, action=action, target=target, reason=reason, details=details
        )
    )
    session.commit()


async def audited(
    session: Session, *, user: User, action: str, target: str, reason: str, details: dict[str, Any]
) -> None:
    """`audit`, in the thread pool: async routes must not block the event loop on a database write."""
    await anyio.to_thread.run_sync(
        partial(audit, session, user=user, action=action, target=target, reason=reason, details=details)
    )


Answer = TypeVar("Answer", MilestoneView, bytes)


def _details(command: Command, outcome: str) -> dict[str, Any]:
    """What the audit entry says of an action: the command without its actor (the entry's user), and its outcome."""
    return {**command.model_dump(mode="json", exclude={"actor"}), "outcome": outcome}


async def _audited_update(
    session: Session, *, user: User, target: str, update: str, reason: str, command: Command, send: Awaitable[Answer]
) -> Answer:
    """Run the update; audit a refusal (and why). The workflow audits what it accepts."""
    try:
        return await send
    except HTTPException as exc:
        details = _details(command, f"refused: {exc.detail}")
        await audited(session, user=user, action=update, target=target, reason=reason, details=details)
        raise


async def mission_action_json(
    session: Session, client: Client, *, user: User, mission_id: uuid.UUID, update: str, command: Command, reason: str
) -> bytes:
    """The ops action, answering the new state's JSON as the workflow wrote it (what the HTTP answer passes on)."""
    send = gateway.mission_update_json(client, mission_id, update, command)
    target = f"mission:{mission_id}"
    return await _audited_update(
        session, user=user, target=target, update=update, reason=reason, command=command, send=send
    )


async def mission_action(
    session: Session, client: Client, *, user: User, mission_id: uuid.UUID, update: str, command: Command, reason: str
) -> MissionView:
    """The ops action, answering the new state (the portal, `innot ops`)."""
    answer = await mission_action_json(
        session, client, user=user, mission_id=mission_id, update=update, command=command, reason=reason
    )
    return MissionView.model_validate_json(answer)


async def milestone_action(
    session: Session,
    client: Client,
    *,
    user: User,
    mission_id: uuid.UUID,
    number: int,
    update: str,
    command: Command,
    reason: str,
) -> MilestoneView:
    send = gateway.milestone_update(client, mission_id, number, update, command)
    target = f"mission:{mission_id}:milestone:{number}"
    return await _audited_update(
        session, user=user, target=target, update=update, reason=reason, command=command, send=send
    )
