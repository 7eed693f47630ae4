"""The portal's door to the actions of `domain.actions`: a form becomes the action's fields and goes through the
same service call as the JSON API (`api.service.act`: same checks, same workflow Update, same audit)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import anyio
from annotated_types import MaxLen
from fastapi import HTTPException, Request, status
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile
from temporalio.client import Client

from api import service
from api.routers import disputes
from api.schemas.missions import body_of
from api.web import forms
from domain import dispute
from domain import mission as cmds
from domain.actions import ACTIONS, Action, Scope
from store.access import visible_mission
from store.models.community import User

FieldsOf = Callable[[FormData], dict[str, Any]]


def _reason(form: FormData) -> dict[str, Any]:
    return {"reason": forms.text(form, "reason")}


def _utc(value: str) -> str:
    """A datetime-local field has no zone: the form says UTC."""
    return value + "+00:00" if value and not value.endswith("Z") and "+" not in value[10:] else value


def _nothing(_form: FormData) -> dict[str, Any]:
    return {}


# How each command's fields are read from a portal form (the only thing the portal adds to an action).
FIELDS: dict[type[cmds.Command], FieldsOf] = {
    cmds.EditShortlist: lambda f: {"remove_expert_ids": [str(v) for v in f.getlist("remove_expert_ids")]},
    cmds.InviteExpert: lambda f: {"expert_id": forms.text(f, "expert_id")},
    cmds.StartInvitations: _nothing,
    cmds.SelectProposal: lambda f: {"expert_id": forms.text(f, "expert_id")},
    cmds.RequestNewRound: _reason,
    cmds.CancelMission: lambda f: {
        "reason": forms.text(f, "reason"),
        "unpaid_invoices": forms.text(f, "unpaid_invoices") or "keep",
    },
    cmds.OpenDispute: lambda f: {"reason": forms.text(f, "reason"), "milestone": forms.text(f, "milestone") or None},
    dispute.AnswerDispute: lambda f: {"statement": forms.text(f, "statement")},
    cmds.AnswerInvitation: _reason,
    cmds.SubmitProposal: lambda f: {"terms": forms.proposal_terms(f)},
    cmds.WithdrawProposal: _reason,
    cmds.SignContract: lambda f: {"expected_sha256": forms.text(f, "expected_sha256"), "otp": forms.text(f, "otp")},
    cmds.RateParty: lambda f: {"score": forms.text(f, "score"), "comment": forms.text(f, "comment")},
    cmds.AnswerRating: lambda f: {"reply": forms.text(f, "reply")},
    cmds.AcceptDeliverable: _nothing,
    cmds.ReportNonPayment: lambda f: {"reason": forms.text(f, "reason") or "not received"},
    cmds.RequestRevision: _reason,
    cmds.ConfirmPayment: lambda f: {"paid_on": forms.text(f, "paid_on"), "reference": forms.text(f, "reference")},
    cmds.ReviseNeed: lambda f: {"need": forms.need(f)},
    cmds.ApproveBudget: _reason,
    cmds.RejectBudget: lambda f: {"reason": forms.text(f, "reason"), "outcome": forms.text(f, "outcome") or "revise"},
    cmds.QualifyNeed: lambda f: {"decision": forms.text(f, "decision"), "reason": forms.text(f, "reason")},
    dispute.DecideDispute: lambda f: {
        "outcome": forms.text(f, "outcome"),
        "reason": forms.text(f, "reason"),
        "amount": forms.text(f, "amount") or None,
        "new_due": _utc(forms.text(f, "new_due")) or None,
    },
    cmds.PauseMission: _reason,
    cmds.ResumeMission: _reason,
    cmds.ExtendDeadline: lambda f: {
        "key": forms.text(f, "key"),
        "new_due": _utc(forms.text(f, "new_due")),
        "reason": forms.text(f, "reason"),
    },
    cmds.ReassignExpert: lambda f: {
        "from_expert_id": forms.text(f, "from_expert_id"),
        "to_expert_id": forms.text(f, "to_expert_id"),
        "reason": forms.text(f, "reason"),
        "due_date": forms.text(f, "due_date") or None,
    },
}


def action_for(user: User, name: str, scope: Scope) -> Action:
    """The action a portal form posts to, by its update's name or its API path segment (`/ops/.../extend`), taken
    as the user's role; 404 for an action the portal has no form for."""
    for action in ACTIONS:
        if (
            action.who.allows(user.role)
            and action.scope is scope
            and name in (action.update, action.path)
            and action.command in FIELDS
        ):
            return action
    raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown action")


async def perform(
    request: Request,
    session: Session,
    user: User,
    *,
    mission_id: uuid.UUID,
    action: Action,
    form: FormData,
    number: int | None = None,
) -> service.View:
    """Validate the form as the API validates its body (a pydantic ValidationError names the faulty field), then
    act through the service."""
    body = body_of(action.command, second_factor=action.needs_second_factor)
    values = FIELDS[action.command](form)
    fields = body.model_validate(values)
    client = await temporal_of(request)
    files = evidence_files(form) if "evidence" in action.command.model_fields else []
    if files:  # kept only once the statement is valid and the engine answers; then the action names them
        values["evidence"] = await _keep_evidence(request, session, user, mission_id, action, files)
        fields = body.model_validate(values)
    return await service.act(
        session,
        client,
        user=user,
        mission_id=mission_id,
        action=action,
        fields=fields,
        number=number,
        settings=request.app.state.settings,
    )


def evidence_files(form: FormData) -> list[UploadFile]:
    """The files chosen in a form's `evidence` field (`<input type=file multiple>`); a browser sends one nameless
    empty part when none is chosen."""
    return [f for f in form.getlist("evidence") if isinstance(f, UploadFile) and f.filename]


def most_evidence(command: type[cmds.Command]) -> int:
    """How many evidence files the command names at most (its `evidence` field's bound)."""
    return next(m.max_length for m in command.model_fields["evidence"].metadata if isinstance(m, MaxLen))


async def _keep_evidence(
    request: Request, session: Session, user: User, mission_id: uuid.UUID, action: Action, files: list[UploadFile]
) -> list[dict[str, str]]:
    """The API's evidence upload (disputes.store_evidence: same checks, sealed, recorded) for every file, all or
    none, as the action's `evidence`; no more files than the action takes."""
    most = most_evidence(action.command)
    if len(files) > most:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"evidence: at most {most} files")
    mission = await anyio.to_thread.run_sync(lambda: visible_mission(session, user=user, mission_id=mission_id))
    if mission is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "mission not found")
    state = request.app.state
    kept = await disputes.store_evidence(session, state.document_store, state.cipher, mission, user, files)
    return [{"document_id": str(e.document_id), "sha256": e.sha256} for e in kept]


async def temporal_of(request: Request) -> Client:
    """The app's Temporal client, connecting lazily like the API does; 503 when the engine is down."""
    client: Client | None = request.app.state.temporal
    if client is None:
        client = await request.app.state.connect_temporal()
    if client is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the workflow engine (Temporal) is not reachable")
    return client
