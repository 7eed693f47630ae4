"""Notices reach people by e-mail through a real SMTP server (aiosmtpd, started here): one e-mail per person and
notice, none twice on a retry, all of them after the server comes back, bounces recorded, preferences followed
(legal notices cannot be switched off) and the daily digest gathering the rest."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage as Message

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from activities.mail import SmtpServer, Writer
from activities.notify import NoticeRef, NotifyActivities
from activities.projection import NoticeRequest
from activities.readmodel import queue_notice
from store.models.community import Expert, Organisation, User
from store.models.notices import NoticePreference, NoticeRecipient
from store.models.readmodel import MissionRecord

pytestmark = pytest.mark.db

PUBLIC_URL = "https://innot.test"


class Inbox:
    """What the SMTP server accepted; addresses in `refuse` get a permanent 550."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: SmtpSession, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:  # noqa: N802
        data = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        self.messages.append(message_from_bytes(data, policy=policy.default))
        return "250 Message accepted"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in str(m["To"])]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class MailServer:
    """A real SMTP server on a fixed port that can go down and come back."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox, self.port = inbox, _free_port()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, MailServer]]:
    server = MailServer(Inbox())
    server.start()
    yield server.inbox, server
    server.stop()


def _text(message: Message) -> str:
    body = message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
    assert body is not None
    return str(body.get_content())


def _activities(session_factory: sessionmaker[Session], port: int) -> NotifyActivities:
    server = SmtpServer.from_url(f"smtp://127.0.0.1:{port}")
    return NotifyActivities(session_factory, Writer("innot <no-reply@innot.test>"), server, PUBLIC_URL)


def _party(s: Session) -> tuple[Organisation, list[User], MissionRecord]:
    tag = uuid.uuid4().hex[:8]
    org = Organisation(
        legal_name=f"Client {tag}", legal_form="SAS", country="FR", address_line="1 rue", postcode="75001",
        city="Paris", billing_email=f"billing-{tag}@client.test",
    )  # fmt: skip
    s.add(org)
    s.flush()
    people = [
        User(email=f"buyer-{tag}@client.test", full_name="Alice Martin", password_hash="x", role="client",
             language="fr", organisation_id=org.id, org_role="admin"),
        User(email=f"finance-{tag}@client.test", full_name="Bob Smith", password_hash="x", role="client",
             language="en", organisation_id=org.id, org_role="admin"),
    ]  # fmt: skip
    s.add_all(people)
    mission = MissionRecord(
        id=uuid.uuid4(), workflow_id=f"mission:{tag}", client_org_id=org.id, title="Audit de la paie",
        business_function="hr", stage="contract", paused=False,
    )  # fmt: skip
    s.add(mission)
    s.commit()
    return org, people, mission


def _notice(s: Session, mission: MissionRecord, org: Organisation, key: str, kind: str, **params: str) -> NoticeRef:
    notice = NoticeRequest(
        workflow_id=mission.workflow_id, key=key, mission_id=mission.id, role="client", party_id=org.id, kind=kind,
        params=params,
    )  # fmt: skip
    queue_notice(s, notice)
    s.commit()
    return NoticeRef(workflow_id=mission.workflow_id, key=key)


def _recipients(s: Session, user: User) -> list[NoticeRecipient]:
    return list(s.scalars(select(NoticeRecipient).where(NoticeRecipient.user_id == user.id)))


def test_each_person_of_the_party_gets_one_email_in_their_language(
    session_factory: sessionmaker[Session], smtp: tuple[Inbox, MailServer]
) -> None:
    inbox, controller = smtp
    acts = _activities(session_factory, controller.port)
    with session_factory() as s:
        org, (alice, bob), mission = _party(s)
        ref = _notice(
            s, mission, org, "task:signature", "task", action="sign_contract", due="2026-12-20T17:00:00+00:00"
        )
    assert acts.deliver_notice(ref) == 2
    assert acts.deliver_notice(ref) == 0, "a retried delivery sends nothing twice"
    [to_alice], [to_bob] = inbox.to(alice.email), inbox.to(bob.email)
    assert to_alice["Subject"] == "Le contrat de « Audit de la paie » est prêt à signer"
    assert to_bob["Subject"] == "The contract for “Audit de la paie” is ready to sign"
    assert "20 décembre 2026" in _text(to_alice) and "Bonjour Alice Martin" in _text(to_alice)
    assert to_alice["Content-Language"] == "fr" and to_bob["Content-Language"] == "en"
    text = _text(to_bob)
    assert f"{PUBLIC_URL}/portal/missions/{mission.id}" in text
    assert "20 December 2026" in text, "dates as people read them"
    assert to_alice["Message-ID"] != to_bob["Message-ID"]
    with session_factory() as s:
        assert [r.email_status for r in _recipients(s, alice)] == ["sent"]


def test_nothing_is_lost_while_the_mail_server_is_down(
    session_factory: sessionmaker[Session], smtp: tuple[Inbox, MailServer]
) -> None:
    inbox, controller = smtp
    acts = _activities(session_factory, controller.port)
    with session_factory() as s:
        org, (alice, bob), mission = _party(s)
        ref = _notice(s, mission, org, "invoice_issued", "invoice_issued", number="FA-2026-0001")
    controller.stop()
    with pytest.raises(OSError):
        acts.deliver_notice(ref)  # Temporal retries the activity with back-off
    with session_factory() as s:
        rows = _recipients(s, alice)
        assert rows[0].email_status == "pending" and rows[0].email_error and rows[0].email_attempts == 1
    controller.start()
    assert acts.deliver_notice(ref) == 2
    assert len(inbox.to(alice.email)) == 1 and len(inbox.to(bob.email)) == 1


def test_a_bounce_is_recorded_for_ops_and_not_retried(
    session_factory: sessionmaker[Session], smtp: tuple[Inbox, MailServer]
) -> None:
    inbox, controller = smtp
    acts = _activities(session_factory, controller.port)
    with session_factory() as s:
        org, (alice, _bob), mission = _party(s)
        ref = _notice(s, mission, org, "late:1", "late_payment_notice", invoice="FA-2026-0002")
    inbox.refuse.add(alice.email)
    assert acts.deliver_notice(ref) == 1
    with session_factory() as s:
        [row] = _recipients(s, alice)
        assert row.email_status == "failed" and "550" in (row.email_error or "")
    assert acts.deliver_notice(ref) == 0


def test_preferences_digest_and_legal_notices(
    session_factory: sessionmaker[Session], smtp: tuple[Inbox, MailServer]
) -> None:
    inbox, controller = smtp
    acts = _activities(session_factory, controller.port)
    with session_factory() as s:
        org, (alice, bob), mission = _party(s)
        s.add_all(
            [
                NoticePreference(user_id=alice.id, kind="reminder", mode="digest"),
                NoticePreference(user_id=bob.id, kind="reminder", mode="off"),
                NoticePreference(user_id=bob.id, kind="late_payment_notice", mode="off"),  # legal: ignored
            ]
        )
        s.commit()
        reminder = _notice(s, mission, org, "reminder:1", "reminder", due="2026-12-18T12:00:00+00:00")
        late = _notice(s, mission, org, "late:2", "late_payment_notice", invoice="FA-2026-0003")
    assert acts.deliver_notice(reminder) == 0
    assert acts.deliver_notice(late) == 2, "a legal notice goes out whatever the preference"
    assert acts.send_digests() == 1
    [digest] = [m for m in inbox.to(alice.email) if "récapitulatif" in str(m["Subject"])]  # Alice reads French
    assert "Rappel : « Audit de la paie » vous attend" in _text(digest)
    assert not [m for m in inbox.to(bob.email) if "Reminder" in str(m["Subject"])]
    assert acts.send_digests() == 0, "each notice is in one digest only"


def test_without_a_mail_server_notices_stay_in_the_feed(session_factory: sessionmaker[Session]) -> None:
    acts = NotifyActivities(session_factory, Writer("innot <no-reply@innot.test>"), None, PUBLIC_URL)
    with session_factory() as s:
        org, (alice, _bob), mission = _party(s)
        ref = _notice(s, mission, org, "task:x", "task", action="review_shortlist")
    assert acts.deliver_notice(ref) == 0
    with session_factory() as s:
        [row] = _recipients(s, alice)
        assert row.email_status == "pending" and row.read_at is None  # in the portal's feed, e-mail not sent


def test_a_french_speaking_expert_gets_the_invitation_in_french(
    session_factory: sessionmaker[Session], smtp: tuple[Inbox, MailServer]
) -> None:
    inbox, controller = smtp
    acts = _activities(session_factory, controller.port)
    with session_factory() as s:
        _org, _people, mission = _party(s)
        expert = Expert(
            display_name="Jeanne Leroy", legal_name="Jeanne Leroy EI", country="FR", address_line="3 quai",
            postcode="69002", city="Lyon", daily_rate=Decimal("800"), available_from=date(2026, 12, 1),
            vat_regime="franchise_en_base",
        )  # fmt: skip
        s.add(expert)
        s.flush()
        person = User(
            email=f"jeanne-{uuid.uuid4().hex[:8]}@expert.test", full_name="Jeanne Leroy", password_hash="x",
            role="expert", language="fr", expert_id=expert.id,
        )  # fmt: skip
        s.add(person)
        s.commit()
        request = NoticeRequest(
            workflow_id=mission.workflow_id, key="task:invite:jeanne", mission_id=mission.id, role="expert",
            party_id=expert.id, kind="task",
            params={"action": "answer_invitation", "title": "Answer", "due": "2026-12-11T09:00:00+00:00"},
        )  # fmt: skip
        queue_notice(s, request)
        s.commit()
    assert acts.deliver_notice(NoticeRef(workflow_id=mission.workflow_id, key="task:invite:jeanne")) == 1
    [mail] = inbox.to(person.email)
    assert mail["Subject"] == "Vous êtes invité(e) à la mission « Audit de la paie »"
    assert mail["Content-Language"] == "fr"
    text = _text(mail)
    assert "Un client vous invite à répondre à son besoin" in text and "11 décembre 2026" in text
    assert "Ouvrez-le dans innot :" in text and f"{PUBLIC_URL}/portal/missions/{mission.id}" in text
    html = mail.get_body(preferencelist=("html",))  # type: ignore[attr-defined]
    assert html is not None and "Vous êtes invité(e) à la mission" in str(html.get_content())
