"""Login, logout, registration of both communities, language switch."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import SecretStr, ValidationError

from api.deps import ACCESS_COOKIE, SessionDep, SettingsDep
from api.errors import field_errors
from api.login_guard import remember_device
from api.routers import auth
from api.schemas.accounts import LoginRequest
from api.web import forms
from api.web.core import (
    REFRESH_COOKIE,
    CsrfChecked,
    MaybeUser,
    error_text,
    function_choices,
    home_of,
    language_of,
    redirect,
    render,
    set_tokens,
)
from api.web.i18n import LANG_COOKIE, LANGUAGES, translations
from store.models.community import RefreshToken

router = APIRouter(prefix="/portal", include_in_schema=False)


def _safe_next(target: str | None) -> str | None:
    return target if target and target.startswith("/portal") and not target.startswith("//") else None


@router.get("")
def portal_home(request: Request, user: MaybeUser) -> Response:
    return redirect(request, home_of(user) if user else "/portal/login")


@router.get("/login")
def login_page(request: Request, user: MaybeUser, next: str | None = None) -> Response:
    return render(request, "login.html", user, next=_safe_next(next) or "", values={})


@router.post("/login", dependencies=[CsrfChecked])
async def login(request: Request, settings: SettingsDep) -> Response:
    form = await request.form()
    _ = translations(request.cookies.get(LANG_COOKIE, "en")).gettext
    try:
        body = LoginRequest(
            email=forms.text(form, "email"),
            password=SecretStr(forms.text(form, "password")),
            otp=forms.text(form, "otp") or None,
        )
        pair, device = await auth.authenticate(body, request, request.app.state.session_factory, settings)
    except (ValidationError, HTTPException) as exc:
        message = (
            error_text(exc)
            if isinstance(exc, HTTPException) and exc.status_code == 429
            else _("Wrong e-mail or password.")
        )
        if isinstance(exc, HTTPException) and "second factor" in str(exc.detail):
            message = _("Enter the code of your authenticator app (or a recovery code), or check it: it did not match.")
        return render(
            request, "login.html", None, status_code=401, values=forms.values(form), next="", flash=("error", message)
        )
    target = _safe_next(forms.text(form, "next")) or "/portal"
    response = redirect(request, target)
    set_tokens(request, response, settings, pair)
    remember_device(request, response, settings, device)
    return response


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request, user: MaybeUser, session: SessionDep) -> Response:
    session_id = getattr(request.state, "session_id", None)
    if user is not None and session_id is not None:
        row = session.get(RefreshToken, session_id)
        if row is not None and row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
            session.commit()
    response = redirect(request, "/portal/login")
    response.delete_cookie(ACCESS_COOKIE)
    response.delete_cookie(REFRESH_COOKIE, path="/portal")
    return response


@router.post("/language", dependencies=[CsrfChecked])
async def switch_language(request: Request) -> Response:
    form = await request.form()
    lang = forms.text(form, "lang")
    back = forms.text(form, "back")
    target = back if back.startswith("/") and not back.startswith("//") else "/portal"
    response = redirect(request, target)
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


def _register_page(request: Request, kind: str, user: MaybeUser, status_code: int = 200, **context: object) -> Response:
    lang = language_of(request, user)
    values = context.pop("values", {})
    return render(
        request, f"register_{kind}.html", user, status_code, functions=function_choices(lang), values=values, **context
    )


def _by_field(exc: Exception) -> dict[str, str]:
    """The API's 422, field by field (`profile.aba_routing` -> `aba_routing`, the form's own name), to show each
    message under its field."""
    if not isinstance(exc, ValidationError):
        return {}
    found: dict[str, str] = {}
    for error in field_errors(exc.errors()):
        named = [part for part in error.field.split(".") if not part.isdigit()]  # `profile.skills.0`: skills
        found.setdefault(named[-1] if named else error.field, error.message)
    return found


@router.get("/register/client")
def register_client_page(request: Request, user: MaybeUser) -> Response:
    return _register_page(request, "client", user)


@router.get("/register/expert")
def register_expert_page(request: Request, user: MaybeUser) -> Response:
    return _register_page(request, "expert", user, values={"remote": "on", "available_days_per_week": "5"})


@router.post("/register/{kind}", dependencies=[CsrfChecked])
async def register(kind: str, request: Request, settings: SettingsDep) -> Response:
    if kind not in ("client", "expert"):
        raise HTTPException(404, "not found")
    form = await request.form()
    factory = request.app.state.session_factory
    try:
        if kind == "client":
            client_body = forms.client_registration(form)
            await auth.register_client(client_body, request, factory, settings)
            email, password = str(client_body.account.email), client_body.account.password
        else:
            expert_body = forms.expert_registration(form)
            await auth.register_expert(expert_body, request, factory, settings)
            email, password = str(expert_body.account.email), expert_body.account.password
        credentials = LoginRequest(email=email, password=password)
        pair, device = await auth.authenticate(credentials, request, factory, settings, just_registered=True)
    except (ValidationError, HTTPException) as exc:
        return _register_page(
            request,
            kind,
            None,
            values=forms.values(form),
            flash=("error", error_text(exc)),
            field_errors=_by_field(exc),
            status_code=422,
        )
    lang = forms.text(form, "language")
    done = translations(lang).gettext(
        "Registration received. Your membership is pending until the registration fee is paid."
    )
    response = redirect(request, "/portal", ok=done)
    set_tokens(request, response, settings, pair)
    remember_device(request, response, settings, device)
    return response
