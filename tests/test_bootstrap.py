"""The first run of `make run`: the demo accounts it prints can use the platform at once (a member's address is
verified, since the platform made them and sent no e-mail; their memberships are active)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from cli.bootstrap import create_demo_accounts
from config.settings import Settings
from store.db import make_session_factory, shared_engine
from store.migrate import upgrade
from store.models.community import Membership, User


def test_the_demo_accounts_are_ready_to_use(tmp_path: Path) -> None:
    settings = Settings(environment="development", database_url=f"sqlite:///{tmp_path / 'first-run.db'}")
    upgrade(settings.database_url)
    accounts = create_demo_accounts(settings)
    assert set(accounts) == {"client", "expert", "expert2", "expert3", "ops"}
    with make_session_factory(shared_engine(settings.database_url))() as session:
        users = session.scalars(select(User)).all()
        assert {u.email for u in users} == {email for email, _password in accounts.values()}
        assert all(u.email_verified_at is not None for u in users), "a demo account must not wait for an e-mail"
        assert {m.status for m in session.scalars(select(Membership))} == {"active"}
