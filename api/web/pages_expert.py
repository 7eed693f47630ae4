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
from domain.directory import PortfolioEntry
from domain.taxonomy import SKILL_LEVEL_LABELS, SKILL_LEVELS
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
            to_sign = view.to_sign()  # the contract, or an amendment to it
            if to_sign is not None:
                contracts[task.mission_id] = to_sign.document.sha256
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
    return _profile_form(request, user, session)


def _profile_form(request: Request, user: Any, session: Any, status_code: int = 200, **sent: Any) -> Response:
    """The profile form: as stored, or (`sent`: form_values, field_errors, flash) as sent back with its errors."""
    _ = translations(language_of(request, user)).gettext
    choices = [
        ("headline", _("Headline")), ("skills", _("Skills and levels")), ("languages", _("Languages")),
        ("countries", _("Countries for on-site work")), ("rate", _("Daily rate")), ("availability", _("Availability")),
        ("portfolio", _("Portfolio")), ("cv", _("CV")),
    ]  # fmt: skip
    expert = experts.read_profile(user, session)
    levels = [(lv, SKILL_LEVEL_LABELS[lv][1 if language_of(request, user) == "fr" else 0]) for lv in SKILL_LEVELS]
    rows = [*expert.portfolio, PortfolioEntry.model_construct(title="", description="", year=None, url=None)]
    return render(
        request,
        "profile.html",
        user,
        status_code,
        expert=expert,
        public_choices=choices,
        levels=levels,
        portfolio_rows=rows,
        **sent,
    )


def _directory_fields(form: Any) -> dict[str, Any]:
    """The directory's parts of the profile form, each only when the form showed it."""
    fields: dict[str, Any] = {}
    if form.get("public_fields_shown"):
        fields["public_fields"] = form.getlist("public_fields")
    if form.get("skill_levels_shown"):
        levels = {k.removeprefix("level:"): v for k, v in form.multi_items() if k.startswith("level:") and v}
        fields["skill_levels"] = levels
    if form.get("portfolio_shown"):
        rows = zip(
            form.getlist("portfolio_title"), form.getlist("portfolio_description"), form.getlist("portfolio_year"),
            strict=False,
        )  # fmt: skip
        fields["portfolio"] = [
            {"title": t.strip(), "description": d.strip(), "year": y or None} for t, d, y in rows if t.strip()
        ]
    return fields


def _profile_update(form: Any) -> ExpertProfileUpdate:
    return ExpertProfileUpdate.model_validate(
        _directory_fields(form)
        | {
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
        return _profile_form(
            request,
            user,
            session,
            422,
            form_values=forms.values(form),
            field_errors=field_messages(exc, tuple(ExpertProfileUpdate.model_fields)),
            flash=("error", error_text(exc)),
        )
    except HTTPException as exc:
        return redirect(request, "/portal/profile", error=error_text(exc))
    return redirect(request, "/portal/profile", ok=translations(language_of(request, user)).gettext("Profile saved."))


@router.post("/profile/cv", dependencies=[CsrfChecked])
async def upload_cv(request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "expert")
    form = await request.form()
    upload = form.get("file")
    try:
        if isinstance(upload, str) or upload is None or not upload.filename:
            raise HTTPException(422, "file: choose a PDF to upload")
        await experts.upload_cv(upload, user, session, request.app.state.document_store)  # type: ignore[arg-type]
    except HTTPException as exc:
        return redirect(request, "/portal/profile", error=error_text(exc))
    finally:
        await form.close()
    return redirect(request, "/portal/profile", ok=translations(language_of(request, user)).gettext("CV saved."))
