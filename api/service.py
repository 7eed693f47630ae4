"""The one service call behind every door: `act` carries out an action of `domain.actions` for a user.

The JSON API, the portal and `innot ops` all call it, so an action is checked, sent and audited the same way
whoever asks: who may take it (role), what the user may see (another organisation's mission is 404 like a
missing one), whether their membership allows it, the workflow Update (whose validator decides; its refusal is a
409 with the reason), and the audit of every ops action: a refusal is audited here, an accepted action by the
workflow itself with the event it records (`workflows.readmodel.ops_audited`). Errors are `HTTPException`s: the
API answers them as they are, the portal shows their detail, the CLI prints it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

import anyio
from fastapi import HTTPException, status
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client

from api import gateway
from api.deps import actor_of, release_connection
from api.routers.memberships import membership_is_active
from api.second_factor import confirm_presence
from api.views import redact
from config.settings import Settings
from domain.actions import Action, Scope, Who
from domain.dispute import DisputeView, dispute_workflow_id
from domain.mission import (
    Command,
    Evidence,
    InviteExpert,
    MilestoneView,
    MissionView,
    ReassignExpert,
    SelectProposal,
    milestone_workflow_id,
    mission_workflow_id,
)
from domain.org_roles import names
from domain.vat import TaxParty, invoiceable
from store import directory
from store.access import visible_mission
from store.matching import client_org_expert_ids
from store.models.community import AuditEntry, Expert, Organisation, User
from store.models.legal import DocumentRecord
from store.models.readmodel import MissionRecord

View = MissionView | MilestoneView | DisputeView  # an action's answer: the new state of what it acted on


def command_of(action: Action, user: User, fields: BaseModel | Mapping[str, Any]) -> Command:
    """The action's command in the user's name: the actor always comes from the account, never from the input
    (nor the second-factor code, which the door checks and the workflow never sees)."""
    values = fields.model_dump() if isinstance(fields, BaseModel) else dict(fields)
    values.pop("otp", None)
    return action.command.model_validate({**values, "actor": actor_of(user)})


def _otp_of(fields: BaseModel | Mapping[str, Any]) -> str | None:
    value = getattr(fields, "otp", None) if isinstance(fields, BaseModel) else fields.get("otp")
    return str(value) if value else None


async def act(
    session: Session,
    client: Client,
    *,
    user: User,
    mission_id: uuid.UUID,
    action: Action,
    fields: BaseModel | Mapping[str, Any],
    number: int | None = None,
    settings: Settings | None = None,
) -> View:
    """Carry out `action` on the mission (or its milestone or dispute `number`) for `user`; answer the new state as
    the user may see it: the mission's view, or the milestone's or dispute's when `number` is given. `settings` carry
    the key that opens the user's second factor, for the acts that need one."""
    if (action.scope is not Scope.MISSION) != (number is not None):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{action.summary}: no such action here")
    command = command_of(action, user, fields)
    await anyio.to_thread.run_sync(partial(_check_access, session, user, mission_id, action))
    if action.needs_second_factor:
        if settings is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"{action.summary}: needs a second factor, not here")
        confirm_presence(settings, user, _otp_of(fields), action.summary.lower())
    evidence = getattr(command, "evidence", None)
    if evidence:
        await anyio.to_thread.run_sync(partial(_check_evidence, session, mission_id, evidence))
    if isinstance(command, SelectProposal):
        # read, then give the pooled connection back before the wait on the workflow (as _check_access does): a
        # transaction left open would be rolled back on a dead connection after the answer (a database outage)
        await anyio.to_thread.run_sync(partial(_check_invoiceable, session, mission_id, command.expert_id))
    if isinstance(command, InviteExpert):
        await anyio.to_thread.run_sync(partial(_check_pickable, session, mission_id, command.expert_id))
    if isinstance(command, ReassignExpert):  # the new expert is one a client could pick, and can invoice this client
        new = command.to_expert_id
        await anyio.to_thread.run_sync(partial(_check_pickable, session, mission_id, new, field="to_expert_id"))
        doing = "this expert cannot take the mission over"
        await anyio.to_thread.run_sync(partial(_check_invoiceable, session, mission_id, new, doing=doing))
    if number is None:
        target = mission_workflow_id(mission_id)
    elif action.scope is Scope.DISPUTE:
        target = dispute_workflow_id(mission_id, number)
    else:
        target = milestone_workflow_id(mission_id, number)
    try:
        view: View
        if number is None:
            view = await gateway.mission_update(client, mission_id, action.update, command)
        elif action.scope is Scope.DISPUTE:
            view = await gateway.dispute_update(client, mission_id, number, action.update, command)
        else:
            view = await gateway.milestone_update(client, mission_id, number, action.update, command)
    except HTTPException as exc:
        if action.who is Who.OPS:
            await _audit(session, user, action, target, command, f"refused: {exc.detail}")
        raise
    return redact(view, user) if isinstance(view, MissionView) else view


def _check_evidence(session: Session, mission_id: uuid.UUID, evidence: list[Evidence]) -> None:
    """422 for evidence that is no file uploaded to this mission (`POST /missions/{id}/evidence`)."""
    ids = [e.document_id for e in evidence]
    found = set(
        session.scalars(
            select(DocumentRecord.id).where(
                DocumentRecord.id.in_(ids), DocumentRecord.mission_id == mission_id, DocumentRecord.kind == "evidence"
            )
        )
    )
    release_connection(session)
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"evidence: not uploaded to this mission (POST /missions/{mission_id}/evidence): {', '.join(missing)}",
        )


def _check_invoiceable(
    session: Session, mission_id: uuid.UUID, expert_id: uuid.UUID, *, doing: str = "this proposal cannot be selected"
) -> None:
    """409 before a contract binds an expert whose invoices to this client could not be issued (MONEY.md: a
    mission never reaches a milestone that cannot be invoiced); the reason says what to add."""
    mission = session.get(MissionRecord, mission_id)
    expert = session.get(Expert, expert_id)
    org = session.get(Organisation, mission.client_org_id) if mission is not None else None
    if expert is None or org is None:
        release_connection(session)
        return  # the workflow's validator answers for an unknown proposal
    seller = TaxParty(country=expert.country, regime=expert.vat_regime,
                      vat_number=expert.vat_number, tax_id=expert.tax_id)  # fmt: skip
    reason = invoiceable(seller, TaxParty(country=org.country, vat_number=org.vat_number, tax_id=org.tax_id))
    release_connection(session)
    if reason is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{doing}: {reason}")


def _check_pickable(session: Session, mission_id: uuid.UUID, expert_id: uuid.UUID, *, field: str = "expert_id") -> None:
    """409 unless the expert a client picked can be found in the directory now, and is not one of the client's own
    people (never matched to their organisation, never picked either)."""
    mission = session.get(MissionRecord, mission_id)
    expert = directory.listed(session, expert_id)
    own = mission is not None and expert_id in client_org_expert_ids(session, mission.client_org_id)
    release_connection(session)
    if expert is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{field}: not an expert of the directory")
    if own:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{field}: a member of the client's own organisation")


def _check_access(session: Session, user: User, mission_id: uuid.UUID, action: Action) -> None:
    """404 for a mission the user may not see (first: a refusal must not tell that it exists), 403 for an action
    that is not the user's to take, 409 for a lapsed member's new engagement. Ops may act on any mission: an
    unknown one is the workflow engine's NOT_FOUND, answered 404 too."""
    if user.role != "ops" and visible_mission(session, user=user, mission_id=mission_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "mission not found")
    if not action.who.allows(user.role):
        who = "parties of the mission" if action.who is Who.PARTY else action.who.value
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"only the {who} can {action.summary.lower()}")
    if not action.allows(user.role, user.org_role):
        who = names(action.org_roles)
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"only the organisation's {who} can {action.summary.lower()}")
    if action.needs_verified_email and user.email_verified_at is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, unverified_reason(user, action.summary.lower()))
    if action.needs_active_membership and not membership_is_active(session, user.expert_id):
        raise HTTPException(
            status.HTTP_409_CONFLICT, "your membership is not active: pay the registration fee to take missions"
        )
    release_connection(session)  # the pooled connection goes back before the wait on the workflow


def unverified_reason(user: User, what: str) -> str:
    return (
        f"verify your e-mail address before you {what}: follow the link sent to {user.email} "
        "(a new one: POST /auth/verify-email/resend, or the Security page)"
    )


async def terminate(session: Session, client: Client, *, user: User, mission_id: uuid.UUID, reason: str) -> None:
    """Last resort: terminate the mission's workflow (no clean-up code runs), audited."""
    if user.role != "ops":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only ops can terminate a mission")
    try:
        await client.get_workflow_handle(mission_workflow_id(mission_id)).terminate(reason=f"ops: {reason}")
    except gateway.UPDATE_ERRORS as exc:
        raise gateway.http_error(exc, "mission") from exc
    await audited(
        session, user=user, action="terminate", target=mission_workflow_id(mission_id), reason=reason, details={}
    )


async def _audit(session: Session, user: User, action: Action, target: str, command: Command, outcome: str) -> None:
    details = {**command.model_dump(mode="json", exclude={"actor"}), "outcome": outcome}
    reason = str(getattr(command, "reason", "")) or action.summary
    await audited(session, user=user, action=action.update, target=target, reason=reason, details=details)


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
