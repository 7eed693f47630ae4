"""Ops pages for members: the onboarding queue (`/portal/ops/members?status=…`) with what each member misses, a
member's review page (`/portal/ops/members/{id}`: the legal data under review next to the data in force, and the proof
documents, each opened through the API's own audited read), the approve and ask-for-changes forms (the same calls as
the API, audited by the workflow), and an organisation's qualification setting."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import SessionDep
from api.routers import onboarding, ops
from api.schemas.onboarding import Approval, ChangeRequest, OrganisationSettings
from api.web import actions, forms
from api.web.core import CsrfChecked, WebUser, error_text, language_of, redirect, render, require
from api.web.i18n import N_, translations
from api.web.pages_ops import LEGAL_LABELS
from domain.membership import membership_workflow_id
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


# what a proof proves, in a word (domain.onboarding.PROOF_KINDS says it at length, in English, for the API)
PROOF_LABELS = {
    "identity": N_("Identity document"),
    "registry_extract": N_("Company registry extract"),
    "bank_details": N_("Bank details"),
    "other": N_("Other proof"),
}


@router.get("/members/{member_id}")
def member(member_id: uuid.UUID, request: Request, user: WebUser, session: SessionDep) -> Response:
    """What ops check before approving: the version under review against the data in force, and the proofs."""
    require(user, "ops")
    try:
        read = onboarding.member_onboarding(member_id, user, session)  # the API's read
    except HTTPException as exc:
        return render(request, "error.html", user, status_code=exc.status_code, message=error_text(exc))
    row = repo.member_row(session, read.community, member_id)
    under_review = next((v for v in read.versions if v.status == "submitted"), None)
    target = membership_workflow_id(member_id)  # the audit entries of its reviews and of each proof read
    return render(
        request,
        "ops_member.html",
        user,
        onboarding=read,
        member_name=row.legal_name if row is not None else "",
        under_review=under_review,
        labels=LEGAL_LABELS,
        kinds=PROOF_LABELS,
        audit=ops.audit_log(user, session, target=target, limit=50),
        files={str(d.id): d.file_name or d.kind for d in read.documents},
    )


@router.get("/members/{member_id}/documents/{document_id}")
def proof(
    member_id: uuid.UUID, document_id: uuid.UUID, request: Request, user: WebUser, session: SessionDep
) -> Response:
    """A proof document, as an attachment: the API's read (`GET /ops/members/{id}/documents/{id}`), which unseals it
    and writes its audit entry."""
    require(user, "ops")
    store, cipher = request.app.state.document_store, request.app.state.cipher
    return onboarding.member_proof(member_id, document_id, user, session, store, cipher)


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
