"""`innot ops` from the command line, as a separate process, against a real mission on the dev server: find it,
inspect it, pause and resume it, retry it after needs_attention, terminate it — each action audited."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from api import gateway, second_factor
from api.security import hash_password
from config.settings import Settings
from config.temporal import connect
from domain.actors import Actor, Role
from domain.mission import StartMission
from domain.need import Need
from store.accounts import create_user
from store.db import transaction
from store.models.community import AuditEntry, User
from worker import build_workers

pytestmark = [pytest.mark.db, pytest.mark.devserver]

# Nobody in any test directory speaks Icelandic and Tamil: matching finds no one, the mission needs attention.
NEED = Need(
    title="Due diligence for an acquisition",
    description="Financial due diligence of a small target in Reykjavik, reporting to our board.",
    business_function="finance",
    skills=["financial_modelling"],
    languages=["is", "ta"],
    budget_min=500,
    budget_max=900,
    start_date=date.today() + timedelta(days=10),
    duration_days=20,
)


async def _innot(env: dict[str, str], *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_ops_console_finds_inspects_and_repairs_a_mission(
    database_url: str,
    tmp_path: Path,
    session_factory: sessionmaker[Session],
    dev_server_env: WorkflowEnvironment,
) -> None:
    address = dev_server_env.client.service_client.config.target_host
    settings = Settings(
        environment="test",
        database_url=database_url,
        temporal_address=address,
        task_queue=f"ops-cli-{uuid.uuid4().hex[:6]}",
        document_store=f"file://{tmp_path / 'docs'}",
        keys_dir=tmp_path / "keys",
    )
    env = os.environ | {
        "INNOT_ENVIRONMENT": "test",
        "INNOT_DATABASE_URL": database_url,
        "INNOT_TEMPORAL_ADDRESS": address,
        "COLUMNS": "200",
    }
    ops_email = f"ops-{uuid.uuid4().hex[:8]}@innot.example"
    with transaction(session_factory) as session:
        ops = create_user(
            session, email=ops_email, full_name="Olivia", password_hash=await hash_password("x"), role="ops"
        )
    client = await connect(settings)
    workers = build_workers(client, settings, queues="missions")
    running = [asyncio.create_task(w.run()) for w in workers]
    try:
        mission_id = uuid.uuid4()
        actor = Actor(user_id=uuid.uuid4(), role=Role.CLIENT, org_id=uuid.uuid4())
        await gateway.start_mission(
            client, settings, StartMission(mission_id=mission_id, client_org_id=actor.org_id, need=NEED, actor=actor)
        )
        for _ in range(100):
            if (await gateway.mission_state(client, mission_id)).stage.value == "needs_attention":
                break
            await asyncio.sleep(0.1)

        code, out = await _innot(env, "ops", "missions", "--needs-attention")
        assert code == 0 and str(mission_id) in out, out
        code, out = await _innot(env, "ops", "inspect", str(mission_id))
        assert code == 0 and "needs attention: matching found no available expert" in out, out
        assert "workflow_execution_started" in out and "shortlist_experts" in out

        code, out = await _innot(
            env, "ops", "pause", str(mission_id), "--reason", "client on holiday", "--as", ops_email
        )
        assert code == 0 and "pause done" in out, out
        code, out = await _innot(env, "ops", "pause", str(mission_id), "--reason", "again", "--as", ops_email)
        assert code == 1 and "409" in out, out  # the validator refuses a second pause, with its reason
        code, out = await _innot(env, "ops", "resume", str(mission_id), "--reason", "back", "--as", ops_email)
        assert code == 0, out
        code, out = await _innot(env, "ops", "retry-all", "--reason", "directory fixed", "--as", ops_email)
        assert code == 0 and "resumed" in out and f"mission:{mission_id}: done" in out, out
        later = (date.today() + timedelta(days=30)).isoformat() + "T12:00:00+00:00"
        extend = ["--key", "payment", "--until", later, "--reason", "payment plan", "--as", ops_email]
        code, out = await _innot(env, "ops", "extend", str(mission_id), "--milestone", "1", *extend)
        assert code == 1 and "404" in out and "milestone" in out, out  # no milestone before a contract
        swap = ["--from-expert", str(uuid.uuid4()), "--to-expert", str(uuid.uuid4()), "--reason", "on leave"]
        code, out = await _innot(env, "ops", "reassign", str(mission_id), *swap, "--as", ops_email)
        assert code == 1 and "409" in out and "to_expert_id: not an expert of the directory" in out, out
        code, out = await _innot(env, "ops", "pause", str(mission_id), "--reason", "x" * 5, "--as", "nobody@x.example")
        assert code == 2 and "no ops account" in out
        code, out = await _innot(
            env, "ops", "terminate", str(mission_id), "--reason", "duplicate need", "--as", ops_email
        )
        assert code == 0, out
    finally:
        await asyncio.gather(*(w.shutdown() for w in workers))
        await asyncio.gather(*running, return_exceptions=True)

    with session_factory() as session:
        entries = list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.target == f"mission:{mission_id}").order_by(AuditEntry.at)
            )
        )
    assert [(e.action, e.actor_user_id) for e in entries][:3] == [("pause", ops.id)] * 2 + [("resume", ops.id)]
    assert entries[1].details["outcome"].startswith("refused")
    assert entries[-1].action == "terminate" and entries[-1].reason == "duplicate need"


PASSWORD = "Sturdy-Passw0rd!"


async def test_create_user_enrols_the_ops_second_factor_at_once(
    database_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    """Ops must have a second factor: `innot ops create-user` enrols it and prints the key, its otpauth URI and the
    recovery codes once; the authenticator's codes and the recovery codes then open the login."""
    keys = tmp_path / "keys"
    env = os.environ | {
        "INNOT_ENVIRONMENT": "test",
        "INNOT_DATABASE_URL": database_url,
        "INNOT_KEYS_DIR": str(keys),
        "COLUMNS": "80",
    }
    email = f"olivia-{uuid.uuid4().hex[:6]}@example.com"
    code, out = await _innot(env, "ops", "create-user", "--email", email, "--name", "Olivia", "--password", PASSWORD)
    assert code == 0, out
    secret = out.split("authenticator key: ", 1)[1].split()[0]
    uri = out.split("otpauth URI (scan as a QR code): ", 1)[1].split()[0]
    recovery = [line.strip() for line in out.split("recovery codes", 1)[1].splitlines()[1:11]]
    assert pyotp.parse_uri(uri).secret == secret and email.replace("@", "%40") in uri
    assert len(set(recovery)) == 10
    settings = Settings(environment="test", database_url=database_url, keys_dir=keys)
    with transaction(session_factory) as s:
        user = s.scalars(select(User).where(User.email == email)).one()
        assert user.totp_enabled_at is not None and second_factor.unseal(settings, user) == secret
        wrong = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
        assert not second_factor.check_login_code(s, settings, user.id, wrong)
        assert second_factor.check_login_code(s, settings, user.id, pyotp.TOTP(secret).now())
        assert second_factor.check_login_code(s, settings, user.id, recovery[0])
        assert not second_factor.check_login_code(s, settings, user.id, recovery[0]), "a recovery code serves once"
    code, again = await _innot(env, "ops", "create-user", "--email", email, "--name", "Olivia", "--password", PASSWORD)
    assert code == 1 and "authenticator key" not in again
