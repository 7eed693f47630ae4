"""Registration, login, tokens and role guards, through the HTTP API on a real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.security import create_access_token, hash_password
from config.settings import Settings
from store.accounts import create_user
from store.db import transaction
from store.models.community import Expert, Membership, Organisation, User
from tests.api.conftest import (
    PASSWORD,
    bearer,
    client_registration,
    expert_registration,
    login,
    unique_email,
    with_second_factor,
)

pytestmark = pytest.mark.db


def _counts(factory: sessionmaker[Session]) -> tuple[int, int, int, int]:
    with factory() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model))
            for model in (User, Organisation, Expert, Membership)
        )


async def test_client_registration_creates_org_member_and_pending_membership(
    api: httpx.AsyncClient, session_factory: sessionmaker[Session]
) -> None:
    email = unique_email("claire")
    response = await api.post("/auth/register/client", json=client_registration(email))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user"]["role"] == "client"
    assert body["membership_status"] == "pending"
    with session_factory() as session:
        org = session.get(Organisation, uuid.UUID(body["member_id"]))
        assert org is not None and org.siren == "732829320"
        user = session.scalar(select(User).where(User.email == email))
        assert user is not None and user.organisation_id == org.id
        assert user.password_hash.startswith("$argon2")


async def test_expert_registration_records_mandate_date(
    api: httpx.AsyncClient, session_factory: sessionmaker[Session]
) -> None:
    response = await api.post("/auth/register/expert", json=expert_registration())
    assert response.status_code == 201, response.text
    with session_factory() as session:
        expert = session.get(Expert, uuid.UUID(response.json()["member_id"]))
        assert expert is not None
        assert expert.billing_mandate_accepted_on == datetime.now(UTC).date()
        assert expert.siren == "732829320"


@pytest.mark.parametrize(
    ("kind", "change", "field"),
    [
        ("client", {"organisation": {"siret": "73282932000075"}}, "siret"),
        ("client", {"organisation": {"vat_number": "FR00123456789"}}, "vat_number"),
        ("client", {"organisation": {"country": "FR", "siret": None}}, "siret"),
        ("client", {"organisation": {"country": "DE", "siret": None, "vat_number": None}}, "vat_number"),
        ("client", {"account": {"password": "short"}}, "password"),
        ("client", {"account": {"password": "alllowercaseletters"}}, "password"),
        ("client", {"account": {"email": "not-an-email"}}, "email"),
        ("expert", {"profile": {"iban": "FR1420041010050500013M02607"}}, "iban"),
        ("expert", {"profile": {"siret": "12345678901234"}}, "siret"),
        ("expert", {"profile": {"vat_regime": "vat_registered", "vat_number": "FR12345"}}, "vat_number"),
        ("expert", {"profile": {"billing_mandate_accepted": False}}, "billing_mandate_accepted"),
        ("expert", {"profile": {"vat_regime": "franchise_en_base", "country": "US"}}, "vat_regime"),
        ("expert", {"profile": {"languages": ["xx"]}}, "languages"),
        ("expert", {"profile": {"daily_rate": "-5"}}, "daily_rate"),
    ],
)
async def test_bad_registration_field_is_named_and_nothing_is_written(
    api: httpx.AsyncClient,
    session_factory: sessionmaker[Session],
    kind: str,
    change: dict[str, dict[str, Any]],
    field: str,
) -> None:
    payload = client_registration() if kind == "client" else expert_registration()
    for part, values in change.items():
        payload[part].update(values)
    before = _counts(session_factory)
    response = await api.post(f"/auth/register/{kind}", json=payload)
    assert response.status_code == 422, response.text
    fields = [e["field"] for e in response.json()["errors"]]
    assert any(f.split(".")[-1] == field or f.endswith(f"{field}.0") for f in fields), fields
    assert field in response.json()["detail"]
    assert _counts(session_factory) == before


async def test_duplicate_email_is_409_and_writes_nothing(
    api: httpx.AsyncClient, session_factory: sessionmaker[Session]
) -> None:
    email = unique_email("dup")
    assert (await api.post("/auth/register/client", json=client_registration(email))).status_code == 201
    before = _counts(session_factory)
    again = await api.post("/auth/register/expert", json=expert_registration(email.upper()))
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]
    assert _counts(session_factory) == before


async def test_login_refresh_rotation_and_logout(api: httpx.AsyncClient) -> None:
    email = unique_email("tok")
    await api.post("/auth/register/client", json=client_registration(email))
    tokens = await login(api, email)
    me = await api.get("/auth/me", headers=bearer(tokens))
    assert me.status_code == 200 and me.json()["email"] == email

    rotated = await api.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200
    new = rotated.json()
    # the old refresh token is spent; presenting it again revokes every session (theft detection)
    reused = await api.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert reused.status_code == 401
    assert (await api.get("/auth/me", headers=bearer(new))).status_code == 401

    fresh = await login(api, email)
    assert (await api.post("/auth/logout", headers=bearer(fresh))).status_code == 204
    revoked = await api.get("/auth/me", headers=bearer(fresh))
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    assert (await api.post("/auth/refresh", json={"refresh_token": fresh["refresh_token"]})).status_code == 401


async def test_expired_and_forged_tokens_get_401(api: httpx.AsyncClient, api_settings: Settings) -> None:
    email = unique_email("exp")
    await api.post("/auth/register/client", json=client_registration(email))
    tokens = await login(api, email)
    me = (await api.get("/auth/me", headers=bearer(tokens))).json()
    claims_sid = jwt.decode(tokens["access_token"], options={"verify_signature": False})["sid"]
    expired = create_access_token(
        api_settings,
        user_id=uuid.UUID(me["id"]),
        role="client",
        session_id=uuid.UUID(claims_sid),
        now=datetime.now(UTC) - timedelta(hours=2),
    )
    response = await api.get("/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    forged = Settings(environment="test", secret_key="x" * 40)
    other = create_access_token(forged, user_id=uuid.UUID(me["id"]), role="ops", session_id=uuid.UUID(claims_sid))
    assert (await api.get("/auth/me", headers={"Authorization": f"Bearer {other}"})).status_code == 401
    assert (await api.get("/auth/me")).status_code == 401


async def test_wrong_password_is_401_and_rate_limited(api: httpx.AsyncClient, api_settings: Settings) -> None:
    email = unique_email("rl")
    await api.post("/auth/register/client", json=client_registration(email))
    for _ in range(api_settings.login_throttle.account_failures):
        bad = await api.post("/auth/login", json={"email": email, "password": "Wrong-password-1"})
        assert bad.status_code == 401
    # from a device the account does not know (this client never logged in to it), even the right password waits
    blocked = await api.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["Retry-After"]) <= api_settings.login_throttle.first_wait_seconds
    unknown = await api.post("/auth/login", json={"email": unique_email("nobody"), "password": PASSWORD})
    assert unknown.status_code == 401


async def test_roles_are_kept_apart(api: httpx.AsyncClient, session_factory: sessionmaker[Session]) -> None:
    client_email, expert_email, ops_email = unique_email("c"), unique_email("e"), unique_email("o")
    await api.post("/auth/register/client", json=client_registration(client_email))
    await api.post("/auth/register/expert", json=expert_registration(expert_email))
    password_hash = await hash_password(PASSWORD)
    with transaction(session_factory) as session:
        create_user(session, email=ops_email, full_name="Olivia Ops", password_hash=password_hash, role="ops")
    as_client = bearer(await login(api, client_email))
    as_expert = bearer(await login(api, expert_email))
    as_ops = await with_second_factor(api, bearer(await login(api, ops_email)))
    routes = {"client": "/clients/organisation", "expert": "/experts/profile", "ops": "/ops/audit"}
    tokens = {"client": as_client, "expert": as_expert, "ops": as_ops}
    for role, headers in tokens.items():
        for owner, route in routes.items():
            status = (await api.get(route, headers=headers)).status_code
            assert status == (200 if owner == role else 403), (role, route, status)


async def test_nul_characters_are_refused_before_anything_is_stored(
    api: httpx.AsyncClient, session_factory: sessionmaker[Session]
) -> None:
    """PostgreSQL cannot store NUL in text: such input gets a 422, on every backend, and writes nothing."""
    payload = client_registration()
    payload["account"]["full_name"] = "Claire\u0000Martin"
    before = _counts(session_factory)
    response = await api.post("/auth/register/client", json=payload)
    assert response.status_code == 422 and "NUL" in response.json()["detail"]
    assert _counts(session_factory) == before
    assert (await api.get("/ops/audit?target=x%00y")).status_code == 422


def test_a_token_verified_once_is_still_refused_once_expired_or_under_another_key(
    api_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verified signatures are remembered (bench.api), never the verdict on expiry or on another signing key."""
    import api.security as security

    token = create_access_token(api_settings, user_id=uuid.uuid4(), role="client", session_id=uuid.uuid4())
    claims = security.decode_access_token(api_settings, token)
    assert security.decode_access_token(api_settings, token) == claims  # served from the cache
    rotated = Settings(environment="test", secret_key="r" * 40)
    with pytest.raises(security.InvalidToken):
        security.decode_access_token(rotated, token)
    later = claims["exp"] + 1
    monkeypatch.setattr(security.time, "time", lambda: later)
    with pytest.raises(security.InvalidToken, match="expired"):
        security.decode_access_token(api_settings, token)
