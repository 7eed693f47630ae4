"""The member's onboarding page (`/portal/onboarding`): where its review stands, what is missing, why ops asked for
changes; its legal data (a new version), its proof documents, and the submission for review. The same calls as the
API (`/onboarding/me…`)."""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter, HTTPException, Request
from fastapi import UploadFile as FastApiUploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import SessionDep
from api.routers import onboarding
from api.schemas.onboarding import LegalDataIn
from api.web import actions, forms
from api.web.core import CsrfChecked, WebUser, error_text, language_of, redirect, render, require
from api.web.i18n import translations
from domain.onboarding import PROOF_KINDS, REQUIRED_PROOFS
from store.onboarding import LEGAL_FIELDS

router = APIRouter(prefix="/portal/onboarding", include_in_schema=False)
BACK = "/portal/onboarding"


@router.get("")
def page(request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "client", "expert")
    mine = onboarding.my_onboarding(user, session)
    draft = next((v.data for v in mine.versions if v.status == "draft"), None)
    return render(
        request, "onboarding.html", user, onboarding=mine, fields=LEGAL_FIELDS[mine.community],
        values=draft or mine.in_force, kinds=PROOF_KINDS, required=REQUIRED_PROOFS[mine.community],
    )  # fmt: skip


@router.post("/legal", dependencies=[CsrfChecked])
async def save_legal(request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "client", "expert")
    form = await request.form()
    fields = {name: forms.optional(form, name) for name in LegalDataIn.model_fields}
    try:
        body = LegalDataIn.model_validate({k: v for k, v in fields.items() if v is not None})
        onboarding.save_legal_data(body, user, session)
    except (ValidationError, RequestValidationError, HTTPException) as exc:
        return redirect(request, BACK, error=_error(exc))
    return redirect(request, BACK, ok=translations(language_of(request, user)).gettext("Saved."))


@router.post("/documents", dependencies=[CsrfChecked])
async def upload(request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "client", "expert")
    form = await request.form()
    file, kind = form.get("file"), forms.text(form, "kind")
    try:
        if isinstance(file, str) or file is None or not file.filename:
            raise HTTPException(422, "file: choose a file to upload")
        if kind not in PROOF_KINDS:
            raise HTTPException(422, "kind: choose what the document proves")
        store, cipher = request.app.state.document_store, request.app.state.cipher
        await onboarding.upload_proof(kind, cast(FastApiUploadFile, file), user, session, store, cipher)  # type: ignore[arg-type]
    except HTTPException as exc:
        return redirect(request, BACK, error=error_text(exc))
    finally:
        await form.close()
    return redirect(request, BACK, ok=translations(language_of(request, user)).gettext("Done."))


@router.post("/submit", dependencies=[CsrfChecked])
async def submit(request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "client", "expert")
    try:
        await onboarding.submit_onboarding(user, session, await actions.temporal_of(request))
    except HTTPException as exc:
        return redirect(request, BACK, error=error_text(exc))
    return redirect(request, BACK, ok=translations(language_of(request, user)).gettext("Done."))


def _error(exc: Exception) -> str:
    if isinstance(exc, ValidationError | RequestValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return f"{where}: {first.get('msg', '')}" if where else str(first.get("msg", ""))
    return error_text(exc)
