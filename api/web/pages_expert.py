"""The expert's inbox (one form per task, across missions) and profile with availability."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api import gateway
from api.deps import SessionDep
from api.routers import experts
from api.schemas.profiles import ExpertProfileUpdate
from api.web import actions, forms
from api.web.core import CsrfChecked, WebUser, error_text, language_of, redirect, render, require
from api.web.i18n import translations
from api.web.pickers import field_messages
from store import missions as queries
from store.models.readmodel import MissionRecord

router = APIRouter(prefix="/portal", include_in_schema=False)


def milestone_number(workflow_id: str) -> int | None:
    """`mission:{id}:milestone:{n}` -> n."""
    head, sep, tail = workflow_id.rpartition(":milestone:")
    return int(tail) if sep and head and tail.isdigit() else None


@router.get("/inbox")
async def inbox(request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "expert", "client")
    tasks = queries.open_tasks(session, user=user)
    ids = {t.mission_id for t in tasks}
    titles = {m.id: m.title for m in session.query(MissionRecord).filter(MissionRecord.id.in_(ids))} if ids else {}
    contracts: dict[uuid.UUID, str] = {}
    for task in tasks:
        if task.action == "sign_contract" and task.mission_id not in contracts:
            try:
                view = await gateway.mission_state(await actions.temporal_of(request), task.mission_id)
            except HTTPException:
                continue
            if view.contract is not None:
                contracts[task.mission_id] = view.contract.document.sha256
    return render(
        request,
        "inbox.html",
        user,
        tasks=[(t, milestone_number(t.workflow_id)) for t in tasks],
        titles=titles,
        contracts=contracts,
        today=date.today().isoformat(),
    )


@router.get("/profile")
def profile_page(request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "expert")
    return render(request, "profile.html", user, expert=experts.read_profile(user, session))


def _profile_update(form: Any) -> ExpertProfileUpdate:
    return ExpertProfileUpdate.model_validate(
        {
            "headline": forms.text(form, "headline"),
            "skills": forms.items(form, "skills"),
            "languages": forms.items(form, "languages"),
            "countries": [c.upper() for c in forms.items(form, "countries")],
            "remote": forms.checked(form, "remote"),
            "daily_rate": forms.text(form, "daily_rate"),
            "currency": forms.text(form, "currency") or "EUR",
            "available_from": forms.text(form, "available_from"),
            "available_days_per_week": forms.text(form, "available_days_per_week"),
        }
    )


@router.post("/profile", dependencies=[CsrfChecked])
async def save_profile(request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "expert")
    form = await request.form()
    try:
        experts.update_profile(_profile_update(form), user, session)
    except ValidationError as exc:  # the form again, as sent, each message under its field
        return render(
            request,
            "profile.html",
            user,
            422,
            expert=experts.read_profile(user, session),
            form_values=forms.values(form),
            field_errors=field_messages(exc, tuple(ExpertProfileUpdate.model_fields)),
            flash=("error", error_text(exc)),
        )
    return redirect(request, "/portal/profile", ok=translations(language_of(request, user)).gettext("Profile saved."))
