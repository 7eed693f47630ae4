"""The account's security pages: the e-mailed links (verify the address, choose a new password), the forgotten
password form, and the Security page (verification, authenticator app with its QR code and recovery codes shown
once, open sessions). Each page calls the JSON API's own route function, so the rules are the same."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request
from fastapi.responses import Response
from pydantic import SecretStr, ValidationError

from api.deps import ACCESS_COOKIE, SessionDep
from api.routers import account, two_factor
from api.routers import privacy as privacy_routes
from api.schemas.security import ForgotPassword, LinkToken, NewPassword, TotpCode, TotpStatus
from api.web import forms
from api.web.core import REFRESH_COOKIE, CsrfChecked, MaybeUser, WebUser, error_text, language_of, redirect, render
from api.web.i18n import translations
from config.settings import Settings

router = APIRouter(prefix="/portal", include_in_schema=False)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.get("/verify-email")
def verify_email_page(request: Request, user: MaybeUser, token: str = "") -> Response:
    # a button, not an action on GET: a mail scanner opening the link must not use it up
    return render(request, "account_link.html", user, kind="verify", token=token[:200])


@router.post("/verify-email", dependencies=[CsrfChecked])
async def verify_email(request: Request, user: MaybeUser) -> Response:
    form = await request.form()
    _ = translations(language_of(request, user)).gettext
    try:
        await account.verify_email(
            LinkToken(token=forms.text(form, "token")), request.app.state.session_factory, _settings(request)
        )
    except (ValidationError, HTTPException) as exc:
        flash = ("error", error_text(exc))
        return render(request, "account_link.html", user, 400, kind="verify", token="", flash=flash)
    return redirect(request, "/portal" if user else "/portal/login", ok=_("Your e-mail address is verified."))


@router.get("/forgot-password")
def forgot_password_page(request: Request, user: MaybeUser) -> Response:
    return render(request, "account_forgot.html", user, values={})


@router.post("/forgot-password", dependencies=[CsrfChecked])
async def forgot_password(request: Request, user: MaybeUser, background: BackgroundTasks) -> Response:
    form = await request.form()
    _ = translations(language_of(request, user)).gettext
    try:
        body = ForgotPassword(email=forms.text(form, "email"))
    except ValidationError as exc:
        flash = ("error", error_text(exc))
        return render(request, "account_forgot.html", user, 422, values=forms.values(form), flash=flash)
    await account.forgot_password(body, background, request, _settings(request))
    return render(
        request,
        "account_forgot.html",
        user,
        values={},
        flash=(
            "ok",
            _("If an account uses this address, a link to choose a new password is on its way (valid one hour)."),
        ),
    )


@router.get("/reset-password")
def reset_password_page(request: Request, user: MaybeUser, token: str = "") -> Response:
    return render(request, "account_link.html", user, kind="reset", token=token[:200])


@router.post("/reset-password", dependencies=[CsrfChecked])
async def reset_password(request: Request, user: MaybeUser) -> Response:
    form = await request.form()
    _ = translations(language_of(request, user)).gettext
    token = forms.text(form, "token")
    try:
        body = NewPassword(token=token, password=SecretStr(forms.text(form, "password")))
        await account.reset_password(body, request.app.state.session_factory, _settings(request))
    except (ValidationError, HTTPException) as exc:
        flash = ("error", error_text(exc))
        return render(request, "account_link.html", user, 400, kind="reset", token=token[:200], flash=flash)
    return redirect(request, "/portal/login", ok=_("Password changed: log in with the new one."))


async def _security_page(request: Request, user: WebUser, totp: TotpStatus | None = None, **context: Any) -> Response:
    sessions = await account.list_sessions(user, request)
    totp = totp or await two_factor.totp_status(user, request)
    return render(request, "security.html", user, sessions=sessions, totp=totp, **context)


@router.get("/security")
async def security_page(request: Request, user: WebUser) -> Response:
    return await _security_page(request, user)


@router.post("/security/verify-email", dependencies=[CsrfChecked])
async def resend_verification(request: Request, user: WebUser) -> Response:
    try:
        done = await account.resend_verification(user, request, _settings(request))
    except HTTPException as exc:
        return redirect(request, "/portal/security", error=error_text(exc))
    return redirect(request, "/portal/security", ok=done.detail)


@router.post("/security/totp/setup", dependencies=[CsrfChecked])
async def totp_setup(request: Request, user: WebUser) -> Response:
    try:
        setup = await two_factor.setup(user, request, _settings(request))
    except HTTPException as exc:
        return redirect(request, "/portal/security", error=error_text(exc))
    return await _security_page(request, user, setup=setup)


async def _with_code(request: Request) -> TotpCode:
    form = await request.form()
    return TotpCode(code=SecretStr(forms.text(form, "code")))


@router.post("/security/totp/enable", dependencies=[CsrfChecked])
async def totp_enable(request: Request, user: WebUser) -> Response:
    try:
        codes = await two_factor.enable(await _with_code(request), user, request, _settings(request))
    except (ValidationError, HTTPException) as exc:
        return redirect(request, "/portal/security", error=error_text(exc))
    enrolled = TotpStatus(enabled=True, recovery_codes_left=len(codes.codes))
    return await _security_page(request, user, enrolled, codes=codes.codes)


@router.post("/security/totp/recovery-codes", dependencies=[CsrfChecked])
async def totp_recovery_codes(request: Request, user: WebUser) -> Response:
    try:
        codes = await two_factor.new_recovery_codes(await _with_code(request), user, request, _settings(request))
    except (ValidationError, HTTPException) as exc:
        return redirect(request, "/portal/security", error=error_text(exc))
    return await _security_page(request, user, codes=codes.codes)


@router.post("/security/totp/disable", dependencies=[CsrfChecked])
async def totp_disable(request: Request, user: WebUser) -> Response:
    _ = translations(language_of(request, user)).gettext
    try:
        await two_factor.disable(await _with_code(request), user, request, _settings(request))
    except (ValidationError, HTTPException) as exc:
        return redirect(request, "/portal/security", error=error_text(exc))
    return redirect(request, "/portal/security", ok=_("Second factor disabled."))


@router.post("/security/sessions/{session_id}/revoke", dependencies=[CsrfChecked])
async def revoke_session(session_id: uuid.UUID, request: Request, user: WebUser) -> Response:
    _ = translations(language_of(request, user)).gettext
    try:
        await account.revoke_session(session_id, user, request)
    except HTTPException as exc:
        return redirect(request, "/portal/security", error=error_text(exc))
    return redirect(request, "/portal/security", ok=_("Session logged out."))


@router.get("/security/export")
def export_my_data(request: Request, user: WebUser, session: SessionDep) -> Response:
    """The member's data as a zip, as `GET /auth/me/export` answers it."""
    return privacy_routes.export_my_data(user, session, request.app.state.cipher, request.app.state.document_store)


@router.post("/security/erase", dependencies=[CsrfChecked])
async def erase_my_data(request: Request, user: WebUser, session: SessionDep) -> Response:
    form = await request.form()
    _ = translations(language_of(request, user)).gettext
    try:
        body = privacy_routes.ErasureRequest(
            password=SecretStr(forms.text(form, "password")),
            otp=forms.text(form, "otp") or None,
            confirm="confirm" in form,
            reason=_("asked on the portal"),
        )
        await privacy_routes.erase_my_data(body, request, user, session, _settings(request))
    except (ValidationError, HTTPException) as exc:
        return redirect(request, "/portal/security", error=error_text(exc))
    response = redirect(request, "/portal/login", ok=_("Your data was erased and your account closed."))
    response.delete_cookie(ACCESS_COOKIE)
    response.delete_cookie(REFRESH_COOKIE, path="/portal")
    return response
