"""People are told what is expected of them: when a mission invites experts, each invited expert gets an e-mail
naming the mission and its deadline (a real SMTP server, aiosmtpd), and the client's feed shows the shortlist to
review; a delivery that meets the mail server down is retried until it comes back, and nobody gets it twice."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.mail import SmtpServer, Writer
from activities.notify import NotifyActivities
from activities.readmodel import ReadModelActivities
from config.temporal import workflow_runner
from domain.notices import readable
from store.db import transaction
from store.models.community import Expert, Organisation, User
from store.models.notices import NoticeRecipient
from store.models.readmodel import Notification
from tests.activities.test_notify import Inbox, MailServer
from tests.workflows import flows
from tests.workflows.conftest import Harness, eventually
from tests.workflows.fakes import Fakes
from workflows import ALL_WORKFLOWS

pytestmark = [pytest.mark.db, pytest.mark.devserver]


@pytest.fixture
def mail() -> Iterator[MailServer]:
    server = MailServer(Inbox())
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def told(
    dev_server_env: WorkflowEnvironment, task_queue: str, session_factory: sessionmaker[Session], mail: MailServer
) -> AsyncIterator[Harness]:
    """The workflows with the real read model and the real notice delivery; the other activities faked."""
    fakes = Fakes()
    notify = NotifyActivities(
        session_factory, Writer("innot <no-reply@innot.test>"), SmtpServer.from_url(f"smtp://127.0.0.1:{mail.port}"),
        "https://innot.test",
    )  # fmt: skip
    with ThreadPoolExecutor(max_workers=4) as pool:
        async with Worker(
            dev_server_env.client,
            task_queue=task_queue,
            workflows=ALL_WORKFLOWS,
            workflow_runner=workflow_runner(sandboxed=True),
            activities=[ReadModelActivities(session_factory).write_read_model, *notify.all(), *fakes.activities()],
            activity_executor=pool,
        ):
            harness = Harness(dev_server_env, task_queue, fakes, session_factory, search_attributes=True)
            _people(session_factory, harness)
            yield harness
            await harness.terminate_leftovers()


def _people(sessions: sessionmaker[Session], h: Harness) -> None:
    """The client organisation's member and an account for each expert the matching fake returns."""
    with transaction(sessions) as s:
        s.add(Organisation(id=h.org_id, legal_name="Client SAS", legal_form="SAS", country="FR", address_line="1 rue",
                           postcode="75001", city="Paris", billing_email="billing@client.test"))  # fmt: skip
        s.flush()
        s.add(User(email=f"buyer-{h.org_id.hex[:8]}@client.test", full_name="Claire", password_hash="x",
                   role="client", organisation_id=h.org_id, language="en", org_role="admin"))  # fmt: skip
        for expert_id in h.fakes.experts:
            s.add(Expert(id=expert_id, display_name="Expert", legal_name="Expert EI", country="FR",
                         address_line="2 rue", postcode="33000", city="Bordeaux", daily_rate=Decimal("800"),
                         available_from=date(2026, 1, 1), vat_regime="franchise_en_base"))  # fmt: skip
            s.flush()
            s.add(User(email=f"{expert_id.hex[:12]}@expert.test", full_name="Expert", password_hash="x",
                       role="expert", expert_id=expert_id, language="fr"))  # fmt: skip


async def test_each_invited_expert_is_emailed_the_mission_and_its_deadline(told: Harness, mail: MailServer) -> None:
    view = await flows.to_invitations(told)
    invited = [i.expert_id for i in view.invitations]
    assert len(invited) == 3
    for expert_id in invited:
        [email] = await eventually(lambda e=expert_id: mail.inbox.to(f"{e.hex[:12]}@expert.test"), within=20)
        assert email["Subject"] == f"Vous êtes invité(e) à la mission « {view.need.title} »"  # their language
        assert email["Content-Language"] == "fr"
        body = str(email.get_body(preferencelist=("plain",)).get_content())
        [due] = [d.due for d in view.deadlines if d.key == f"invitation:{expert_id}"]
        assert readable(due.isoformat(), "fr") in body, "the deadline, as a French reader writes it"
        assert f"https://innot.test/portal/missions/{told.mission_id}" in body
    [review] = mail.inbox.to(f"buyer-{told.org_id.hex[:8]}@client.test")
    assert "shortlist" in str(review["Subject"]).lower()

    def statuses() -> list[str]:
        with told.sessions() as s:
            return list(
                s.scalars(
                    select(NoticeRecipient.email_status)
                    .join(Notification, Notification.id == NoticeRecipient.notification_id)
                    .where(Notification.mission_id == told.mission_id)
                )
            )

    # the deliveries run in the background: once each is done, each person got each notice once
    done = await eventually(lambda: (found := statuses()) and set(found) == {"sent"} and found, within=20)
    assert len(mail.inbox.messages) == len(done)


async def test_a_notice_waits_for_the_mail_server_and_is_sent_once(told: Harness, mail: MailServer) -> None:
    mail.stop()
    await flows.to_shortlist(told)
    buyer = f"buyer-{told.org_id.hex[:8]}@client.test"

    def tried() -> bool:
        with told.sessions() as s:
            rows = s.scalars(select(NoticeRecipient).join(User).where(User.email == buyer)).all()
            return bool(rows) and all(r.email_attempts >= 1 and r.email_error for r in rows)

    await eventually(tried, within=20)
    assert mail.inbox.to(buyer) == []
    mail.start()
    [email] = await eventually(lambda: mail.inbox.to(buyer), within=40)
    assert "shortlist" in str(email["Subject"]).lower()
