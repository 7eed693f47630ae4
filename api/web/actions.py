"""The portal's door to the mission actions: each form becomes the JSON API's body model and goes through the
API's own route function (same validators, same workflow Update, same redaction, same audit for ops)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.routing import APIRoute
from starlette.datastructures import FormData
from temporalio.client import Client

from api.routers import missions, ops_missions
from api.schemas.missions import body_of
from api.web import forms
from domain import mission as cmds

Endpoint = Callable[..., Awaitable[Any]]
FieldsOf = Callable[[FormData], dict[str, Any]]


def _reason(form: FormData) -> dict[str, Any]:
    return {"reason": forms.text(form, "reason")}


def _utc(value: str) -> str:
    """A datetime-local field has no zone: the form says UTC."""
    return value + "+00:00" if value and not value.endswith("Z") and "+" not in value[10:] else value


def _nothing(_form: FormData) -> dict[str, Any]:
    return {}


# update -> (API route name, command, form reader)
MISSION_ACTIONS: dict[str, tuple[str, type[cmds.Command], FieldsOf]] = {
    "edit_shortlist": (
        "client:edit_shortlist",
        cmds.EditShortlist,
        lambda f: {"remove_expert_ids": [str(v) for v in f.getlist("remove_expert_ids")]},
    ),
    "start_invitations": ("client:start_invitations", cmds.StartInvitations, _nothing),
    "select_proposal": (
        "client:select_proposal",
        cmds.SelectProposal,
        lambda f: {"expert_id": forms.text(f, "expert_id")},
    ),
    "request_new_round": ("client:request_new_round", cmds.RequestNewRound, _reason),
    "cancel": ("client:cancel", cmds.CancelMission, _reason),
    "open_dispute": ("client:open_dispute", cmds.OpenDispute, _reason),
    "accept_invitation": ("expert:accept_invitation", cmds.AnswerInvitation, _reason),
    "decline_invitation": ("expert:decline_invitation", cmds.AnswerInvitation, _reason),
    "submit_proposal": ("expert:submit_proposal", cmds.SubmitProposal, lambda f: {"terms": forms.proposal_terms(f)}),
    "withdraw_proposal": ("expert:withdraw_proposal", cmds.WithdrawProposal, _reason),
    "sign_contract": (
        "party:sign_contract",
        cmds.SignContract,
        lambda f: {"expected_sha256": forms.text(f, "expected_sha256")},
    ),
    "rate": (
        "party:rate",
        cmds.RateParty,
        lambda f: {"score": forms.text(f, "score"), "comment": forms.text(f, "comment")},
    ),
}

MILESTONE_ACTIONS: dict[str, tuple[str, type[cmds.Command], FieldsOf]] = {
    "accept_deliverable": ("client:milestone_accept_deliverable", cmds.AcceptDeliverable, _nothing),
    "request_revision": ("client:milestone_request_revision", cmds.RequestRevision, _reason),
    "confirm_payment": (
        "client:milestone_confirm_payment",
        cmds.ConfirmPayment,
        lambda f: {"paid_on": forms.text(f, "paid_on"), "reference": forms.text(f, "reference")},
    ),
}

OPS_ACTIONS: dict[str, tuple[str, type[cmds.Command], FieldsOf]] = {
    "pause": ("ops:pause", cmds.PauseMission, _reason),
    "resume": ("ops:resume", cmds.ResumeMission, _reason),
    "extend": (
        "ops:extend_deadline",
        cmds.ExtendDeadline,
        lambda f: {
            "key": forms.text(f, "key"),
            "new_due": _utc(forms.text(f, "new_due")),
            "reason": forms.text(f, "reason"),
        },
    ),
    "reassign": (
        "ops:reassign_expert",
        cmds.ReassignExpert,
        lambda f: {
            "from_expert_id": forms.text(f, "from_expert_id"),
            "to_expert_id": forms.text(f, "to_expert_id"),
            "reason": forms.text(f, "reason"),
        },
    ),
    "cancel": ("ops:cancel", cmds.CancelMission, _reason),
}


def endpoint(router: APIRouter, name: str) -> Endpoint:
    for route in router.routes:
        if isinstance(route, APIRoute) and route.name == name:
            function: Endpoint = route.endpoint
            return function
    raise LookupError(f"no API route named {name}")


async def call(function: Endpoint, **available: Any) -> Any:
    """Call an API route function with the arguments it declares, taken from what the portal has at hand."""
    wanted = inspect.signature(function).parameters
    return await function(**{name: value for name, value in available.items() if name in wanted})


def body(spec: tuple[str, type[cmds.Command], FieldsOf], form: FormData) -> Any:
    """The API body model filled from the form (pydantic ValidationError names the faulty field)."""
    _name, command, fields_of = spec
    return body_of(command).model_validate(fields_of(form))


async def temporal_of(request: Request) -> Client:
    """The app's Temporal client, connecting lazily like the API does; 503 when the engine is down."""
    client: Client | None = request.app.state.temporal
    if client is None:
        client = await request.app.state.connect_temporal()
    if client is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the workflow engine (Temporal) is not reachable")
    return client


def mission_endpoint(update: str) -> Endpoint:
    return endpoint(missions.router, MISSION_ACTIONS[update][0])


def milestone_endpoint(update: str) -> Endpoint:
    return endpoint(missions.router, MILESTONE_ACTIONS[update][0])


def ops_endpoint(action: str) -> Endpoint:
    return endpoint(ops_missions.router, OPS_ACTIONS[action][0])
