"""Accounts are real: the verification e-mail's link verifies the address (and only then may a client post a need),
a password reset link sets a new password once and logs every session out, asking for a reset tells nothing about
who has an account, one's sessions can be listed and revoked, and the TOTP second factor guards logins (with
single-use recovery codes) and every ops route. A real SMTP server (aiosmtpd) started here receives the e-mails."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from api.security import hash_password
from cli.demo import need
from config.settings import Settings
from store import accounts
from store.db import transaction
from tests.activities.test_notify import Inbox, MailServer
from tests.api.conftest import PASSWORD, bearer, client_registration, login, unique_email

pytestmark = pytest.mark.db

PUBLIC_URL = "https://innot.test"
NEW_PASSWORD = "Another-Sturdy-Pass9"


@pytest.fixture
def mail() -> Iterator[MailServer]:
    server = MailServer(Inbox())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api_settings(var_dir: Any, mail: MailServer) -> Settings:
    return Settings(
        environment="test",
        temporal_address="127.0.0.1:1",
        document_store=f"file://{var_dir}/docs",
        smtp_url=f"smtp://127.0.0.1:{mail.port}",
        public_url=PUBLIC_URL,
    )


def _text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def _token(mail: MailServer, address: str, page: str) -> str:
    """The token of the link in the latest e-mail to `address` that points at `page`."""
    for message in reversed(mail.inbox.to(address)):
        for word in _text(message).split():
            if word.startswith(f"{PUBLIC_URL}{page}?"):
                return parse_qs(urlsplit(word).query)["token"][0]
    raise AssertionError(f"no link to {page} for {address}")


async def _register(api: httpx.AsyncClient, email: str, **account: Any) -> dict[str, Any]:
    body = client_registration(email)
    body["account"] |= account
    answer = await api.post("/auth/register/client", json=body)
    assert answer.status_code == 201, answer.text
    registered: dict[str, Any] = answer.json()
    return registered


async def test_registration_sends_a_verification_link_that_verifies_the_address_once(
    api: httpx.AsyncClient, app: FastAPI, mail: MailServer
) -> None:
    email = unique_email("verify")
    registered = await _register(api, email, language="fr")
    assert registered["verification_email_sent"] is True
    [message] = mail.inbox.to(email)
    assert message["Subject"] == "Confirmez votre adresse e-mail", "in the language the person chose"
    assert message["Content-Language"] == "fr"
    headers = bearer(await login(api, email))
    me = (await api.get("/auth/me", headers=headers)).json()
    assert me["email_verified"] is False

    app.state.temporal = SimpleNamespace()  # a stand-in: these refusals come before the workflow engine is asked
    refused = await api.post("/missions", json=need(), headers=headers)
    assert refused.status_code == 403, refused.text
    assert "verify your e-mail address" in refused.json()["detail"]

    token = _token(mail, email, "/portal/verify-email")
    verified = await api.post("/auth/verify-email", json={"token": token})
    assert verified.status_code == 200, verified.text
    assert (await api.get("/auth/me", headers=headers)).json()["email_verified"] is True
    posted = await api.post("/missions", json=need(), headers=headers)
    assert posted.status_code == 409, "past verification, the next rule speaks: the membership fee is not paid yet"
    assert "membership" in posted.json()["detail"]

    again = await api.post("/auth/verify-email", json={"token": token})
    assert again.status_code == 400 and "already used" in again.json()["detail"]


async def test_a_link_that_is_forged_or_for_another_purpose_is_refused(
    api: httpx.AsyncClient, mail: MailServer
) -> None:
    email = unique_email("forged")
    await _register(api, email)
    token = _token(mail, email, "/portal/verify-email")
    reset = await api.post("/auth/password/reset", json={"token": token, "password": NEW_PASSWORD})
    assert reset.status_code == 400, "a verification link cannot reset a password"
    nonce, _, signature = token.partition(".")
    forged = await api.post("/auth/verify-email", json={"token": f"{nonce[:-2]}xx.{signature}"})
    assert forged.status_code == 400
    assert (await api.post("/auth/verify-email", json={"token": token})).status_code == 200, "the real one works"


async def test_a_new_verification_link_replaces_the_old_one_and_a_mail_outage_is_told(
    api: httpx.AsyncClient, mail: MailServer
) -> None:
    email = unique_email("resend")
    await _register(api, email)
    first = _token(mail, email, "/portal/verify-email")
    headers = bearer(await login(api, email))
    resent = await api.post("/auth/verify-email/resend", headers=headers)
    assert resent.status_code == 202, resent.text
    second = _token(mail, email, "/portal/verify-email")
    assert first != second
    assert (await api.post("/auth/verify-email", json={"token": first})).status_code == 400
    mail.stop()
    down = await api.post("/auth/verify-email/resend", headers=headers)
    assert down.status_code == 503 and "mail server" in down.json()["detail"]
    later = unique_email("outage")
    registered = await _register(api, later)
    assert registered["verification_email_sent"] is False, "registration still succeeds; the person asks again"
    mail.start()
    assert (await api.post("/auth/verify-email", json={"token": second})).status_code == 200


async def test_a_password_reset_link_sets_a_new_password_once_and_logs_every_session_out(
    api: httpx.AsyncClient, mail: MailServer
) -> None:
    email = unique_email("reset")
    await _register(api, email)
    old = await login(api, email)
    other_device = await login(api, email)
    asked = await api.post("/auth/password/forgot", json={"email": email.upper()})
    assert asked.status_code == 202
    token = _token(mail, email, "/portal/reset-password")

    weak = await api.post("/auth/password/reset", json={"token": token, "password": "short"})
    assert weak.status_code == 422 and "password" in weak.text
    done = await api.post("/auth/password/reset", json={"token": token, "password": NEW_PASSWORD})
    assert done.status_code == 200, done.text
    again = await api.post("/auth/password/reset", json={"token": token, "password": "Yet-Another-Pass-77"})
    assert again.status_code == 400 and "already used" in again.json()["detail"]

    for tokens in (old, other_device):
        assert (await api.get("/auth/me", headers=bearer(tokens))).status_code == 401
        refreshed = await api.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 401
    assert (await api.post("/auth/login", json={"email": email, "password": PASSWORD})).status_code == 401
    assert (await login(api, email, NEW_PASSWORD))["access_token"]
    me = (await api.get("/auth/me", headers=bearer(await login(api, email, NEW_PASSWORD)))).json()
    assert me["email_verified"] is True, "following the reset link proved the mailbox too"


async def test_asking_for_a_reset_tells_nothing_about_who_has_an_account(
    api: httpx.AsyncClient, mail: MailServer
) -> None:
    known = unique_email("known")
    await _register(api, known)
    before = len(mail.inbox.messages)
    answers = [
        await api.post("/auth/password/forgot", json={"email": address}) for address in (known, unique_email("nobody"))
    ]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].content == answers[1].content
    assert {k: v for k, v in answers[0].headers.items() if k != "date"} == {
        k: v for k, v in answers[1].headers.items() if k != "date"
    }
    assert len(mail.inbox.messages) == before + 1, "only the known address receives a link"
    mail.stop()  # the mail server down: still the same answer (telling would tell the account exists)
    assert (await api.post("/auth/password/forgot", json={"email": known})).content == answers[1].content


async def test_my_sessions_are_listed_and_one_can_be_revoked(api: httpx.AsyncClient) -> None:
    email = unique_email("sessions")
    await _register(api, email)
    laptop, phone = await login(api, email), await login(api, email)
    listed = (await api.get("/auth/sessions", headers=bearer(laptop))).json()
    assert len(listed) == 2
    assert [s["current"] for s in listed].count(True) == 1
    phone_id = next(s["id"] for s in listed if not s["current"])
    stranger = unique_email("stranger")
    await _register(api, stranger)
    theirs = await api.delete(f"/auth/sessions/{phone_id}", headers=bearer(await login(api, stranger)))
    assert theirs.status_code == 404, "another person's session is as unknown as a missing one"
    assert (await api.get("/auth/me", headers=bearer(phone))).status_code == 200

    assert (await api.delete(f"/auth/sessions/{phone_id}", headers=bearer(laptop))).status_code == 204
    assert (await api.get("/auth/me", headers=bearer(phone))).status_code == 401
    assert (await api.get("/auth/me", headers=bearer(laptop))).status_code == 200
    assert len((await api.get("/auth/sessions", headers=bearer(laptop))).json()) == 1
    assert (await api.delete(f"/auth/sessions/{uuid.uuid4()}", headers=bearer(laptop))).status_code == 404
    # the revoked refresh token is refused too (and, presented again, taken as stolen: every session ends)
    assert (await api.post("/auth/refresh", json={"refresh_token": phone["refresh_token"]})).status_code == 401


async def _enrol(api: httpx.AsyncClient, headers: dict[str, str]) -> tuple[str, list[str]]:
    setup = await api.post("/auth/totp/setup", headers=headers)
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    assert setup.json()["otpauth_uri"].startswith("otpauth://totp/innot:")
    assert setup.json()["qr_svg"].startswith("<svg")
    wrong = await api.post("/auth/totp/enable", json={"code": "000000"}, headers=headers)
    assert wrong.status_code == 400
    enabled = await api.post("/auth/totp/enable", json={"code": pyotp.TOTP(secret).now()}, headers=headers)
    assert enabled.status_code == 200, enabled.text
    return secret, enabled.json()["codes"]


async def test_a_second_factor_guards_the_login_and_a_recovery_code_opens_one_login(api: httpx.AsyncClient) -> None:
    email = unique_email("totp")
    await _register(api, email)
    headers = bearer(await login(api, email))
    secret, codes = await _enrol(api, headers)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert (await api.get("/auth/me", headers=headers)).json()["second_factor"] is True

    def attempt(otp: str | None = None) -> Any:
        return api.post("/auth/login", json={"email": email, "password": PASSWORD, "otp": otp})

    missing = await attempt()
    assert missing.status_code == 401 and "second factor required" in missing.json()["detail"]
    assert (await attempt("123456")).status_code == 401
    next_code = pyotp.TOTP(secret).at(time.time() + 30)  # the next step: within the allowed drift, not yet used
    assert (await attempt(next_code)).status_code == 200
    assert (await attempt(next_code)).status_code == 401, "a code opens one login, never two"
    assert (await attempt(codes[0])).status_code == 200
    assert (await attempt(codes[0])).status_code == 401, "a recovery code works once"
    assert (await attempt(codes[1].upper())).status_code == 200
    left = (await api.get("/auth/totp", headers=headers)).json()
    assert left == {"enabled": True, "recovery_codes_left": 8}


async def test_ops_cannot_use_an_ops_route_before_enrolling_a_second_factor(
    api: httpx.AsyncClient, session_factory: sessionmaker[Session]
) -> None:
    email = unique_email("ops")
    with transaction(session_factory) as session:
        accounts.create_user(
            session, email=email, full_name="Olga Ops", password_hash=await hash_password(PASSWORD), role="ops"
        )
    headers = bearer(await login(api, email))
    refused = await api.get("/ops/audit", headers=headers)
    assert refused.status_code == 403 and "second factor" in refused.json()["detail"]
    action = await api.post(f"/ops/missions/{uuid.uuid4()}/pause", json={"reason": "a check"}, headers=headers)
    assert action.status_code == 403 and "second factor" in action.json()["detail"]
    secret, _codes = await _enrol(api, headers)
    assert (await api.get("/ops/audit", headers=headers)).status_code == 200
    kept = await api.post("/auth/totp/disable", json={"code": pyotp.TOTP(secret).now()}, headers=headers)
    assert kept.status_code == 403, "ops keep their second factor"
