"""Signing a contract asks for a fresh code of the signer's authenticator app: none, a wrong one, or no app
enrolled is refused with what to do (and nothing is signed); the right code signs. On the real stack (the Temporal
dev server), with a mission brought to the contract stage through the API."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from tests.api.live import build_live_mission

pytestmark = [pytest.mark.db, pytest.mark.devserver]


async def test_signing_asks_for_a_fresh_authenticator_code(
    dev_server_env: WorkflowEnvironment, engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    async with build_live_mission(dev_server_env, engine, session_factory, tmp_path) as live:
        client = live.parties["client_a"]
        base = f"/missions/{live.mission_id}"
        view = (await live.api.get(f"{base}/state", headers=client.headers)).json()
        sha = view["contract"]["document"]["sha256"]

        async def sign(**body: str) -> tuple[int, str]:
            answer = await live.api.post(
                f"{base}/contract/sign", json={"expected_sha256": sha} | body, headers=client.headers
            )
            return answer.status_code, answer.text

        status, text = await sign()
        assert status == 403 and "authenticator" in text, text
        status, text = await sign(otp="000000" if client.otp() != "000000" else "111111")
        assert status == 403 and "wrong authenticator code" in text, text

        off = await live.api.post("/auth/totp/disable", json={"code": client.otp()}, headers=client.headers)
        assert off.status_code == 204, off.text
        status, text = await sign(otp=client.otp())
        assert status == 403 and "enrol" in text, "a party without an authenticator app is told to enrol one"
        signatures = (await live.api.get(f"{base}/state", headers=client.headers)).json()["contract"]["signatures"]
        assert signatures == [], "nothing was signed"

        setup = await live.api.post("/auth/totp/setup", headers=client.headers)
        client.totp_secret = setup.json()["secret"]
        code = pyotp.TOTP(client.totp_secret).now()
        assert (await live.api.post("/auth/totp/enable", json={"code": code}, headers=client.headers)).is_success
        status, text = await sign(otp=client.otp())
        assert status == 200, text
