"""What every page shares: templates, language, CSRF tokens, flash messages, cookies and the logged-in user.

Authentication is the API's own: the access token (JWT) travels in the HTTP-only `innot_access` cookie, read by
`api.deps.current_user`; an expired one is renewed from the refresh cookie through `api.routers.auth.refresh`.
CSRF: a random token signed with the secret key lives in a cookie and in a hidden field of every form; a POST
whose field does not match its cookie (or whose signature is wrong) is refused with 403.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError

from api.deps import ACCESS_COOKIE, SessionDep, SettingsDep, authenticate
from api.errors import MAX_ERRORS, cut
from api.routers import auth, notifications
from api.schemas.accounts import RefreshRequest, TokenPair
from api.web.i18n import (
    LANG_COOKIE,
    LANGUAGES,
    PRICING_LABELS,
    VAT_REGIME_LABELS,
    pick_language,
    stage_label,
    translations,
)
from api.web.pickers import PICKERS
from config.settings import Settings
from domain.taxonomy import get_taxonomy
from store.models.community import User

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
REFRESH_COOKIE = "innot_refresh"
CSRF_COOKIE = "innot_csrf"
CSRF_FIELD = "csrf_token"
FLASH_COOKIE = "innot_flash"


def _when(value: datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value[:16].replace("T", " ")
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else value.isoformat()


def _environment(lang: str) -> Environment:
    """One template environment per language, its gettext installed once: a request never switches a shared one."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["when"] = _when
    env.filters["short"] = lambda value: str(value)[:8]
    env.globals.update(PRICING_LABELS=PRICING_LABELS, VAT_REGIME_LABELS=VAT_REGIME_LABELS, pick=PICKERS[lang])
    env.filters["money"] = PICKERS[lang].money
    env.filters["size"] = PICKERS[lang].file_size
    return env


TEMPLATES = {lang: _environment(lang) for lang in LANGUAGES}


# --- CSRF ---------------------------------------------------------------------------------------------------


def _sign(settings: Settings, nonce: str) -> str:
    return hmac.new(settings.secret_key.encode(), f"csrf:{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def csrf_token(request: Request, settings: Settings) -> str:
    """This browser's token: the one in its cookie if genuine, else a new one (set on the response)."""
    current = request.cookies.get(CSRF_COOKIE, "")
    if _valid_token(settings, current):
        return current
    if getattr(request.state, "new_csrf", None):
        token: str = request.state.new_csrf
        return token
    nonce = secrets.token_urlsafe(24)
    request.state.new_csrf = f"{nonce}.{_sign(settings, nonce)}"
    return str(request.state.new_csrf)


def _valid_token(settings: Settings, token: str) -> bool:
    nonce, _, signature = token.partition(".")
    return bool(nonce) and hmac.compare_digest(signature, _sign(settings, nonce))


class CsrfRejected(Exception):
    pass


async def check_csrf(request: Request, settings: SettingsDep) -> None:
    """Dependency of every POST: the hidden field must equal the cookie, and carry our signature."""
    form = await request.form()
    sent = str(form.get(CSRF_FIELD, ""))
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not (sent and cookie and hmac.compare_digest(sent, cookie) and _valid_token(settings, sent)):
        lang = language_of(request, None)
        message = translations(lang).gettext(
            "This form has expired or did not come from this site. Reload the page and try again."
        )
        raise HTTPException(status.HTTP_403_FORBIDDEN, message)


CsrfChecked = Depends(check_csrf)


# --- cookies, flash, rendering ------------------------------------------------------------------------------


def language_of(request: Request, user: User | None) -> str:
    return pick_language(
        request.cookies.get(LANG_COOKIE), user.language if user else None, request.headers.get("accept-language")
    )


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def set_tokens(request: Request, response: Response, settings: Settings, pair: TokenPair) -> None:
    secure = _secure(request)
    response.set_cookie(
        ACCESS_COOKIE, pair.access_token, max_age=pair.expires_in, httponly=True, secure=secure, samesite="lax"
    )
    response.set_cookie(
        REFRESH_COOKIE,
        pair.refresh_token,
        max_age=settings.refresh_token_days * 86400,
        httponly=True,
        secure=secure,
        samesite="lax",
        path="/portal",
    )


def _finish(request: Request, response: Response) -> Response:
    """Cookies decided while handling the request: renewed tokens, a new CSRF token, a consumed flash."""
    settings: Settings = request.app.state.settings
    pair: TokenPair | None = getattr(request.state, "new_tokens", None)
    if pair is not None:
        set_tokens(request, response, settings, pair)
    new_csrf: str | None = getattr(request.state, "new_csrf", None)
    if new_csrf:
        response.set_cookie(CSRF_COOKIE, new_csrf, httponly=True, secure=_secure(request), samesite="lax")
    if getattr(request.state, "flash_read", False):
        response.delete_cookie(FLASH_COOKIE)
    return response


def read_flash(request: Request) -> tuple[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    request.state.flash_read = True
    kind, _, message = unquote(raw).partition("|")
    return (kind if kind in ("ok", "error") else "ok"), message


def render(request: Request, name: str, user: User | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    lang = language_of(request, user)
    html = (
        TEMPLATES[lang]
        .get_template(name)
        .render(
            request=request,
            user=user,
            lang=lang,
            stage=lambda s: stage_label(str(s), lang),
            csrf=csrf_token(request, settings),
            csrf_field=CSRF_FIELD,
            flash=context.pop("flash", None) or read_flash(request),
            path=request.url.path,
            unread=getattr(request.state, "unread", 0) if user is not None else 0,  # the header's unread count
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status_code)
    _finish(request, response)
    return response


def redirect(request: Request, to: str, *, ok: str | None = None, error: str | None = None) -> Response:
    response = RedirectResponse(to, status_code=status.HTTP_303_SEE_OTHER)
    if ok or error:
        message = f"{'error' if error else 'ok'}|{error or ok}"
        response.set_cookie(FLASH_COOKIE, quote(message[:1500]), httponly=True, samesite="lax", max_age=60)
    return _finish(request, response)


def error_text(exc: Exception) -> str:
    if isinstance(exc, HTTPException):
        return str(exc.detail)
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{cut('.'.join(str(p) for p in e['loc']) or 'form', 200)}: "
            f"{cut(str(e['msg']).removeprefix('Value error, '))}"
            for e in exc.errors()[:MAX_ERRORS]
        )
    return str(exc)


# --- the logged-in user -------------------------------------------------------------------------------------


def _login_redirect(request: Request) -> HTTPException:
    target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return HTTPException(
        status.HTTP_303_SEE_OTHER, "log in first", headers={"Location": f"/portal/login?next={target}"}
    )


def optional_user(request: Request, session: SessionDep, settings: SettingsDep) -> User | None:
    if request.cookies.get(ACCESS_COOKIE):
        try:
            user, request.state.session_id = authenticate(session, settings, request.cookies.get(ACCESS_COOKIE))
            request.state.unread = notifications.unread_count(session, user)
            return user
        except HTTPException:
            pass
    refresh = request.cookies.get(REFRESH_COOKIE)
    if not refresh:
        return None
    try:
        pair = auth.refresh(RefreshRequest(refresh_token=refresh), session, settings)
    except (HTTPException, ValidationError):
        return None
    request.state.new_tokens = pair
    user, request.state.session_id = authenticate(session, settings, pair.access_token)
    request.state.unread = notifications.unread_count(session, user)
    return user


def web_user(request: Request, user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise _login_redirect(request)
    return user


WebUser = Annotated[User, Depends(web_user)]
MaybeUser = Annotated[User | None, Depends(optional_user)]


def home_of(user: User) -> str:
    return {"client": "/portal/missions", "expert": "/portal/inbox", "ops": "/portal/ops/missions"}.get(
        user.role, "/portal/login"
    )


def require(user: User, *roles: str) -> None:
    """A page of another audience sends the user home instead (no error page for a mistyped link)."""
    if user.role not in roles:
        raise HTTPException(status.HTTP_303_SEE_OTHER, "not for this account", headers={"Location": home_of(user)})
    if user.role == "ops" and user.totp_enabled_at is None:  # every ops page needs the second factor first
        raise HTTPException(status.HTTP_303_SEE_OTHER, "enrol first", headers={"Location": "/portal/security"})


def function_choices(lang: str) -> list[tuple[str, str]]:
    """Business functions of the taxonomy as (key, label in this language), sorted by label."""
    taxonomy = get_taxonomy()
    return sorted(((k, taxonomy.label(k, lang)) for k in taxonomy.function_keys), key=lambda kv: kv[1])
