"""A client organisation with several people: its first registrant is its admin and invites colleagues by e-mail
(a real SMTP server, aiosmtpd, receives the invitation; its link opens the account once, in the organisation, with
the role the admin chose, its address verified), changes their roles and removes them, but never leaves the
organisation without an admin; finance cannot post a need; another organisation finds out nothing of them."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from cli.demo import need
from config.settings import Settings
from tests.activities.test_notify import Inbox, MailServer
from tests.api.conftest import PASSWORD, bearer, client_registration, login, unique_email

pytestmark = pytest.mark.db

PUBLIC_URL = "https://innot.test"


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


def _invitation_token(mail: MailServer, address: str) -> str:
    [message] = mail.inbox.to(address)[-1:]
    for word in _text(message).split():
        if word.startswith(f"{PUBLIC_URL}/portal/join?"):
            return parse_qs(urlsplit(word).query)["token"][0]
    raise AssertionError(f"no invitation link for {address}")


async def _admin(api: httpx.AsyncClient) -> dict[str, str]:
    email = unique_email("admin")
    answer = await api.post("/auth/register/client", json=client_registration(email))
    assert answer.status_code == 201, answer.text
    return bearer(await login(api, email))


async def _invite(api: httpx.AsyncClient, admin: dict[str, str], role: str, mail: MailServer) -> tuple[str, str]:
    """Invite a colleague and follow the link: their address and access headers."""
    email = unique_email(role)
    body = {"email": email, "full_name": f"{role.title()} Colleague", "role": role, "language": "fr"}
    answer = await api.post("/org/members", json=body, headers=admin)
    assert answer.status_code == 202, answer.text
    joined = await api.post("/org/join", json={"token": _invitation_token(mail, email), "password": PASSWORD})
    assert joined.status_code == 200, joined.text
    return email, (await login(api, email))["access_token"]


async def test_the_admin_invites_a_colleague_who_joins_with_the_chosen_role(
    api: httpx.AsyncClient, app: FastAPI, mail: MailServer
) -> None:
    admin = await _admin(api)
    me = (await api.get("/auth/me", headers=admin)).json()
    assert me["org_role"] == "admin", "the first registrant is the organisation's admin"
    email = unique_email("finance")
    body = {"email": email, "full_name": "Fanny Finance", "role": "finance", "language": "fr"}
    assert (await api.post("/org/members", json=body, headers=admin)).status_code == 202
    [message] = mail.inbox.to(email)
    assert message["Content-Language"] == "fr"
    token = _invitation_token(mail, email)
    pending = (await api.get("/org/members", headers=admin)).json()["invitations"]
    assert [(i["email"], i["role"]) for i in pending] == [(email, "finance")]

    joined = await api.post("/org/join", json={"token": token, "password": PASSWORD})
    assert joined.status_code == 200, joined.text
    again = await api.post("/org/join", json={"token": token, "password": PASSWORD})
    assert again.status_code == 400 and again.json()["detail"].startswith("token: ")

    colleague = bearer(await login(api, email))
    mine = (await api.get("/auth/me", headers=colleague)).json()
    assert (mine["organisation_id"], mine["org_role"], mine["email_verified"]) == (
        me["organisation_id"],
        "finance",
        True,
    )
    members = (await api.get("/org/members", headers=colleague)).json()
    assert {(m["email"], m["role"]) for m in members["members"]} == {(me["email"], "admin"), (email, "finance")}
    assert members["invitations"] == [], "only an admin sees the invitations under way"

    app.state.temporal = SimpleNamespace()  # a stand-in: the refusal comes before the workflow engine is asked
    refused = await api.post("/missions", json=need(), headers=colleague)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "only the organisation's admin or buyer can post a need"
    invite = await api.post("/org/members", json=body | {"email": unique_email("x")}, headers=colleague)
    assert invite.status_code == 403


async def test_a_forged_or_unknown_invitation_opens_nothing(api: httpx.AsyncClient) -> None:
    forged = await api.post("/org/join", json={"token": "x" * 43 + ".forged-signature", "password": PASSWORD})
    assert forged.status_code == 400
    assert forged.json()["detail"] == "token: this invitation is not valid: ask for a new one"


async def test_roles_change_and_the_last_admin_stays(api: httpx.AsyncClient, mail: MailServer) -> None:
    admin = await _admin(api)
    me = (await api.get("/auth/me", headers=admin)).json()
    demoted = await api.patch(f"/org/members/{me['id']}", json={"role": "buyer"}, headers=admin)
    assert demoted.status_code == 409
    assert demoted.json()["detail"].startswith("role: the last admin of the organisation keeps the admin role")
    removed = await api.delete(f"/org/members/{me['id']}", headers=admin)
    assert removed.status_code == 409 and removed.json()["detail"].startswith("user_id: the last admin")

    email, token = await _invite(api, admin, "approver", mail)
    colleague = {"Authorization": f"Bearer {token}"}
    colleague_id = (await api.get("/auth/me", headers=colleague)).json()["id"]
    bad = await api.patch(f"/org/members/{colleague_id}", json={"role": "owner"}, headers=admin)
    assert bad.status_code == 422 and "role" in bad.text
    promoted = await api.patch(f"/org/members/{colleague_id}", json={"role": "admin"}, headers=admin)
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
    assert (await api.get("/auth/me", headers=colleague)).json()["org_role"] == "admin", "at once"

    # two admins now: the first may step down, and the new admin may remove them
    assert (await api.patch(f"/org/members/{me['id']}", json={"role": "buyer"}, headers=admin)).status_code == 200
    assert (await api.delete(f"/org/members/{me['id']}", headers=colleague)).status_code == 204
    assert (await api.get("/auth/me", headers=admin)).status_code == 401, "a removed member's sessions end"
    gone = await api.post("/auth/login", json={"email": me["email"], "password": PASSWORD})
    assert gone.status_code == 401
    members = (await api.get("/org/members", headers=colleague)).json()["members"]
    assert [(m["email"], m["role"]) for m in members] == [(email, "admin")]


async def test_another_organisation_finds_out_nothing(api: httpx.AsyncClient, mail: MailServer) -> None:
    admin_a, admin_b = await _admin(api), await _admin(api)
    email, token = await _invite(api, admin_a, "buyer", mail)
    buyer_id = (await api.get("/auth/me", headers={"Authorization": f"Bearer {token}"})).json()["id"]
    missing = "00000000-0000-4000-8000-000000000000"
    for method, extra in (("PATCH", {"json": {"role": "finance"}}), ("DELETE", {})):
        foreign = await api.request(method, f"/org/members/{buyer_id}", headers=admin_b, **extra)
        absent = await api.request(method, f"/org/members/{missing}", headers=admin_b, **extra)
        assert (
            (foreign.status_code, foreign.json())
            == (absent.status_code, absent.json())
            == (
                404,
                {"detail": "user_id: no such member of your organisation"},
            )
        )
    listed = (await api.get("/org/members", headers=admin_b)).json()
    assert email not in str(listed)
    # inviting an address that has an account elsewhere answers as for any address (its owner learns it alone)
    taken = await api.post("/org/members", json={"email": email, "full_name": "Someone", "role": "buyer"},
                           headers=admin_b)  # fmt: skip
    fresh = unique_email("fresh")
    free = await api.post("/org/members", json={"email": fresh, "full_name": "Someone", "role": "buyer"},
                          headers=admin_b)  # fmt: skip
    assert (taken.status_code, free.status_code) == (202, 202)
    assert taken.json()["detail"].replace(email, "<a>") == free.json()["detail"].replace(fresh, "<a>")
    joined = await api.post("/org/join", json={"token": _invitation_token(mail, email), "password": PASSWORD})
    assert joined.status_code == 400 and "already uses this address" in joined.json()["detail"]


async def test_the_admin_sets_the_approval_threshold(api: httpx.AsyncClient, mail: MailServer) -> None:
    admin = await _admin(api)
    assert (await api.get("/org/settings", headers=admin)).json() == {"approval_threshold": None, "currency": None}
    no_currency = await api.put("/org/settings", json={"approval_threshold": "20000"}, headers=admin)
    assert no_currency.status_code == 422 and "currency" in no_currency.json()["detail"]
    bad = await api.put("/org/settings", json={"approval_threshold": "-1", "currency": "EUR"}, headers=admin)
    assert bad.status_code == 422 and "approval_threshold" in bad.text, bad.text
    unknown = await api.put("/org/settings", json={"approval_threshold": "1", "currency": "XYZ"}, headers=admin)
    assert unknown.status_code == 422 and "currency" in unknown.text
    done = await api.put("/org/settings", json={"approval_threshold": "20000.50", "currency": "EUR"}, headers=admin)
    assert done.status_code == 200 and done.json() == {"approval_threshold": "20000.50", "currency": "EUR"}
    _, token = await _invite(api, admin, "buyer", mail)
    buyer = {"Authorization": f"Bearer {token}"}
    assert (await api.get("/org/settings", headers=buyer)).json()["approval_threshold"] == "20000.50"
    refused = await api.put("/org/settings", json={"approval_threshold": None}, headers=buyer)
    assert refused.status_code == 403
