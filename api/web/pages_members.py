"""Ops pages for members: the onboarding queue (`/portal/ops/members?status=…`) with what each member misses, the
approve and ask-for-changes forms (the same calls as the API, audited by the workflow), and an organisation's
qualification setting."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import SessionDep
from api.routers import onboarding
from api.schemas.onboarding import Approval, ChangeRequest, OrganisationSettings
from api.web import actions, forms
from api.web.core import CsrfChecked, WebUser, error_text, language_of, redirect, render, require
from api.web.i18n import translations
from store import onboarding as repo
from store.models.community import Organisation

router = APIRouter(prefix="/portal/ops", include_in_schema=False)


@router.get("/members")
def members(request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "ops")
    status = request.query_params.get("status") or None
    if status not in repo.QUEUE_STATUSES:
        status = None
    queued = repo.queue(session, status)
    orgs = [m.member_id for m in queued if m.community == "client_organisation"]
    qualification = {org.id: org.qualification_required for org in session.query(Organisation).filter(
        Organisation.id.in_(orgs))}  # fmt: skip
    return render(
        request, "ops_members.html", user, members=queued, status=status or "", statuses=repo.QUEUE_STATUSES,
        qualification=qualification,
    )  # fmt: skip


@router.post("/members/{member_id}/{decision}", dependencies=[CsrfChecked])
async def decide(member_id: uuid.UUID, decision: str, request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "ops")
    form = await request.form()
    back = "/portal/ops/members?status=awaiting_review"
    _ = translations(language_of(request, user)).gettext
    client = await actions.temporal_of(request)
    try:
        if decision == "approve":
            await onboarding.approve_member(member_id, Approval(note=forms.text(form, "note")), user, session, client)
        elif decision == "request-changes":
            body = ChangeRequest(reason=forms.text(form, "reason"))
            await onboarding.request_member_changes(member_id, body, user, session, client)
        else:
            raise HTTPException(404, "no such decision")
    except (ValidationError, HTTPException) as exc:
        return redirect(request, back, error=error_text(exc))
    return redirect(request, back, ok=_("Done."))


@router.post("/organisations/{org_id}/qualification", dependencies=[CsrfChecked])
async def qualification(org_id: uuid.UUID, request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "ops")
    form = await request.form()
    status = forms.text(form, "status")
    back = "/portal/ops/members" + (f"?status={status}" if status in repo.QUEUE_STATUSES else "")
    _ = translations(language_of(request, user)).gettext
    given = form.getlist("qualification_required")  # "off" (hidden), then "on" when the box is ticked
    try:
        if not given:
            raise HTTPException(422, "qualification_required: " + _("missing"))
        required = "on" in given
        onboarding.change_organisation_settings(org_id, OrganisationSettings(qualification_required=required), user,
                                                session)  # fmt: skip
    except HTTPException as exc:
        return redirect(request, back, error=error_text(exc))
    return redirect(request, back, ok=_("Done."))
