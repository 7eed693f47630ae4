"""My notices in the portal: the feed (each notice opens its page and is then read), mark all as read, and how I am
e-mailed per kind. Every page calls the JSON API's own functions (api.routers.notifications), so the rules are the
same: a person sees and marks only their own notices, legal notices cannot be switched off."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import SessionDep
from api.routers import notifications
from api.web.core import CsrfChecked, WebUser, error_text, language_of, redirect, render
from api.web.i18n import translations
from domain.notices import KIND_LABELS, LEGAL_KINDS

router = APIRouter(prefix="/portal/notifications", include_in_schema=False)
MODES = ("immediate", "digest", "off")


@router.get("")
def notices_page(request: Request, user: WebUser, session: SessionDep) -> Response:
    feed = notifications.feed(session, user, limit=100, lang=language_of(request, user))
    return render(request, "notifications.html", user, feed=feed)


@router.post("/read-all", dependencies=[CsrfChecked])
def read_all(request: Request, user: WebUser, session: SessionDep) -> Response:
    notifications.mark_all_read(user, session)
    _ = translations(language_of(request, user)).gettext
    return redirect(request, "/portal/notifications", ok=_("Every notice is marked as read."))


@router.post("/{notice_id}/open", dependencies=[CsrfChecked])
def open_notice(notice_id: uuid.UUID, request: Request, user: WebUser, session: SessionDep) -> Response:
    """The notice is read once its page is opened."""
    try:
        link = notifications.read_one(session, user, notice_id)
    except HTTPException as exc:
        return redirect(request, "/portal/notifications", error=error_text(exc))
    return redirect(request, link)


@router.get("/preferences")
def preferences_page(request: Request, user: WebUser, session: SessionDep) -> Response:
    chosen = notifications.my_preferences(user, session)
    page = "notification_preferences.html"
    return render(request, page, user, chosen=chosen, labels=KIND_LABELS, legal=LEGAL_KINDS, modes=MODES)


@router.post("/preferences", dependencies=[CsrfChecked])
async def save_preferences(request: Request, user: WebUser, session: SessionDep) -> Response:
    form = await request.form()
    _ = translations(language_of(request, user)).gettext
    try:
        body = [
            notifications.Preference.model_validate({"kind": kind, "mode": str(form.get(f"mode-{kind}", ""))})
            for kind in notifications.SWITCHABLE
        ]
        notifications.set_preferences(body, user, session)
    except (ValidationError, HTTPException) as exc:
        return redirect(request, "/portal/notifications/preferences", error=error_text(exc))
    return redirect(request, "/portal/notifications/preferences", ok=_("Your e-mail preferences are saved."))
