"""Ops actions on workflows, shared by the API, the portal and `innot ops`: run the update, then write the audit
entry (who, what, why, when, and whether the workflow accepted or refused it)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Any

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


async def mission_action(
    session: Session, client: Client, *, user: User, mission_id: uuid.UUID, update: str, command: Command, reason: str
) -> MissionView:
    details = command.model_dump(mode="json", exclude={"actor"})
    target = f"mission:{mission_id}"
    try:
        view = await gateway.mission_update(client, mission_id, update, command)
    except HTTPException as exc:
        await audited(
            session,
            user=user,
            action=update,
            target=target,
            reason=reason,
            details=details | {"outcome": f"refused: {exc.detail}"},
        )
        raise
    await audited(
        session,
        user=user,
        action=update,
        target=target,
        reason=reason,
        details=details | {"outcome": f"done; stage {view.stage.value}"},
    )
    return view


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
    target = f"mission:{mission_id}:milestone:{number}"
    try:
        view = await gateway.milestone_update(client, mission_id, number, update, command)
    except HTTPException as exc:
        await audited(
            session,
            user=user,
            action=update,
            target=target,
            reason=reason,
            details={"outcome": f"refused: {exc.detail}"},
        )
        raise
    await audited(
        session,
        user=user,
        action=update,
        target=target,
        reason=reason,
        details={"outcome": f"done; stage {view.stage.value}"},
    )
    return view
