"""Notices' e-mails through a real SMTP server started here (aiosmtpd), while a mission runs through the API on the
real stack (Temporal dev server, worker processes): the worker SIGKILLed in the middle of handing a message to the
server, and the server down from the start. Every notice reaches every person once, counted by Message-ID (fixed
per notice and person); what is not yet delivered shows to ops (`GET /ops/mail`) meanwhile."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections import Counter
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import select

from config.temporal import connect
from store.migrate import upgrade
from store.models.notices import NoticeRecipient
from tests.faults.scenario import Platform, finish, members, platform, start_missions, until
from tests.faults.stack import TemporalServer, free_port, settings_for, worker_process

pytestmark = pytest.mark.faults

# a worker killed mid-send is noticed when its delivery's start-to-close timeout (2 min) runs out
WITHIN = 480.0


class MailServer:
    """A real SMTP server. A message counts as delivered only once the whole exchange is done (as a server that
    queues on its final answer); `hold_at`: the n-th message is held unanswered until its client goes away."""

    def __init__(self, hold_at: int | None = None) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.hold_at, self.seen = hold_at, 0
        self.holding = threading.Event()
        self.held_id = ""
        self._controller: Controller | None = None

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:  # noqa: N802
        data = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        message = message_from_bytes(data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.seen += 1
        if self.seen == self.hold_at:
            self.held_id = str(message["Message-ID"])
            self.holding.set()
            await asyncio.sleep(3600)  # cancelled by aiosmtpd when the client's connection is lost
        self.messages.append(message)
        return "250 Message accepted"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def ids(self) -> Counter[str]:
        return Counter(str(m["Message-ID"]) for m in self.messages)


def rows(p: Platform) -> list[NoticeRecipient]:
    with p.sessions() as s:
        return list(s.scalars(select(NoticeRecipient)))


async def all_delivered(p: Platform) -> None:
    async def settled() -> bool:
        return not [r for r in rows(p) if r.email_status in ("pending", "sending")]

    await until("every notice's e-mail delivered", settled, within=WITHIN)


def assert_each_once(p: Platform, mail: MailServer) -> list[NoticeRecipient]:
    """Every notice to every person went out, once: the server holds one message per row, none twice."""
    recipients = rows(p)
    assert recipients, "the mission told its parties something"
    assert Counter(r.email_status for r in recipients) == {"sent": len(recipients)}
    received = mail.ids()
    twice = {mid: n for mid, n in received.items() if n > 1}
    assert not twice, f"delivered more than once: {twice}"
    assert set(received) == {r.message_id for r in recipients}
    return recipients


async def test_notice_emails_survive_a_worker_sigkill_mid_send(tmp_path: Path) -> None:
    server = TemporalServer(tmp_path)
    server.start()
    mail = MailServer(hold_at=3)
    mail.start()
    database_url = f"sqlite:///{tmp_path / 'innot.db'}"
    upgrade(database_url)
    settings = settings_for(tmp_path, database_url, server.address)
    worker = worker_process(settings, tmp_path)
    assert worker.env is not None
    worker.env["INNOT_SMTP_URL"] = mail.url
    worker.start()
    try:
        temporal = await connect(settings)
        async with platform(settings, temporal) as p:
            client, experts = await members(p)
            runs = start_missions(p, 1, client, experts)
            await asyncio.to_thread(mail.holding.wait, 240)
            assert mail.holding.is_set(), "three notices were e-mailed"
            worker.stop(signal.SIGKILL)  # while the server has the message but has not answered
            killed_mid_send = [r for r in rows(p) if r.message_id == mail.held_id]
            assert [r.email_status for r in killed_mid_send] == ["sending"], "claimed before the send"
            worker.start()
            await finish(runs, WITHIN)
            await all_delivered(p)
            recipients = assert_each_once(p, mail)
            [retried] = [r for r in recipients if r.message_id == mail.held_id]
            assert retried.email_attempts >= 2 and mail.ids()[mail.held_id] == 1
            print(f"\n{len(recipients)} notice e-mails, each once; the one cut by the kill sent again, once")
    finally:
        worker.stop()
        mail.stop()
        server.stop()


async def test_notice_emails_wait_out_a_mail_server_outage(tmp_path: Path) -> None:
    server = TemporalServer(tmp_path)
    server.start()
    mail = MailServer()  # down: not started yet
    database_url = f"sqlite:///{tmp_path / 'innot.db'}"
    upgrade(database_url)
    settings = settings_for(tmp_path, database_url, server.address)
    worker = worker_process(settings, tmp_path)
    assert worker.env is not None
    worker.env["INNOT_SMTP_URL"] = mail.url
    worker.start()
    try:
        temporal = await connect(settings)
        async with platform(settings, temporal) as p:
            client, experts = await members(p)
            runs = start_missions(p, 1, client, experts)

            async def ops_see_it() -> dict[str, Any] | None:
                answer = await p.api.get("/ops/mail", headers=p.ops.headers)
                report: dict[str, Any] = answer.json()
                waiting = [u for u in report["undelivered"] if u["status"] == "pending" and u["error"]]
                return report if len(waiting) >= 3 else None

            report = await until("ops see the e-mails waiting for the server", ops_see_it)
            assert "Connection refused" in report["undelivered"][0]["error"]
            assert not mail.messages
            mail.start()  # the server is back
            await finish(runs, WITHIN)
            await all_delivered(p)
            recipients = assert_each_once(p, mail)
            assert max(r.email_attempts for r in recipients) >= 2
            after = (await p.api.get("/ops/mail", headers=p.ops.headers)).json()
            assert after["undelivered"] == [] and after["counts"] == {"sent": len(recipients)}
            print(f"\n{len(recipients)} notice e-mails, each once, after the outage")
    finally:
        worker.stop()
        mail.stop()
        server.stop()
