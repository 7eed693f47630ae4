"""The organisation's members page (everyone reads it; its admin invites colleagues, changes roles, removes members
and sets the approval threshold there) and the page an invited colleague's e-mailed link opens. Each form calls the
JSON API's own route function (api.routers.org), so the rules are the same."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import SecretStr, ValidationError

from api.routers import org
from api.web import forms
from api.web.core import CsrfChecked, MaybeUser, WebUser, error_text, language_of, redirect, render, require
from api.web.i18n import translations
from config.settings import Settings
from domain.org_roles import MANAGES, OrgRole, may

router = APIRouter(prefix="/portal", include_in_schema=False)
PAGE = "/portal/members"


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.get("/members")
async def members_page(request: Request, user: WebUser) -> Response:
    require(user, "client")
    factory = org._factory(request)
    people = await org.list_members(user, factory)
    return render(
        request,
        "members.html",
        user,
        people=people,
        roles=[r.value for r in OrgRole],
        admin=may(user.org_role, MANAGES),
        settings=org.read_settings(user, factory),
    )


@router.post("/members/invite", dependencies=[CsrfChecked])
async def invite(request: Request, user: WebUser) -> Response:
    require(user, "client")
    form = await request.form()
    _ = translations(language_of(request, user)).gettext
    try:
        org._admin(user)
        body = org.Invite.model_validate(
            {
                "email": forms.text(form, "email"),
                "full_name": forms.text(form, "full_name"),
                "role": forms.text(form, "role"),
                "language": forms.text(form, "language") or "en",
            }
        )
        await org.invite_member(body, user, request, org._factory(request), _settings(request))
    except (ValidationError, HTTPException) as exc:
        return redirect(request, PAGE, error=error_text(exc))
    return redirect(request, PAGE, ok=_("The invitation is on its way."))


@router.post("/members/settings", dependencies=[CsrfChecked])
async def threshold(request: Request, user: WebUser) -> Response:
    require(user, "client")
    form = await request.form()
    _ = translations(language_of(request, user)).gettext
    amount = forms.text(form, "approval_threshold")
    try:
        org._admin(user)
        body = org.OrgSettings.model_validate(
            {
                "approval_threshold": amount or None,
                "currency": (forms.text(form, "currency") or None) if amount else None,
            }
        )
        org.write_settings(body, user, org._factory(request))
    except (ValidationError, HTTPException) as exc:
        return redirect(request, PAGE, error=error_text(exc))
    return redirect(request, PAGE, ok=_("The approval threshold is saved."))


@router.post("/members/{user_id}/role", dependencies=[CsrfChecked])
async def change_role(user_id: uuid.UUID, request: Request, user: WebUser) -> Response:
    require(user, "client")
    form = await request.form()
    _ = translations(language_of(request, user)).gettext
    try:
        org._admin(user)
        body = org.MemberRole.model_validate({"role": forms.text(form, "role")})
        await org.change_role(user_id, body, user, org._factory(request))
    except (ValidationError, HTTPException) as exc:
        return redirect(request, PAGE, error=error_text(exc))
    return redirect(request, PAGE, ok=_("The role is changed."))


@router.post("/members/{user_id}/remove", dependencies=[CsrfChecked])
async def remove(user_id: uuid.UUID, request: Request, user: WebUser) -> Response:
    require(user, "client")
    _ = translations(language_of(request, user)).gettext
    try:
        org._admin(user)
        await org.remove_member(user_id, user, org._factory(request))
    except HTTPException as exc:
        return redirect(request, PAGE, error=error_text(exc))
    return redirect(request, PAGE, ok=_("The member is removed."))


@router.get("/join")
def join_page(request: Request, user: MaybeUser, token: str = "") -> Response:
    # a button with the password, not an action on GET: a mail scanner opening the link must not use it up
    return render(request, "join.html", user, token=token[:200])


@router.post("/join", dependencies=[CsrfChecked])
async def join(request: Request, user: MaybeUser) -> Response:
    form = await request.form()
    _ = translations(language_of(request, user)).gettext
    token = forms.text(form, "token")
    try:
        body = org.JoinOrganisation(token=token, password=SecretStr(forms.text(form, "password")))
        await org.join(body, org._factory(request), _settings(request))
    except (ValidationError, HTTPException) as exc:
        return render(request, "join.html", user, 400, token=token[:200], flash=("error", error_text(exc)))
    return redirect(request, "/portal/login", ok=_("Your account is open: log in."))
