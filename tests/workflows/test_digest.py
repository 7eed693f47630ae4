"""The daily digest is a Temporal Schedule: created once (every worker asks), it starts NoticeDigestWorkflow, whose
activity e-mails each person the notices they chose to receive that way (a real SMTP server, aiosmtpd)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.mail import SmtpServer, Writer
from activities.notify import NotifyActivities, fan_out
from activities.projection import NoticeRequest
from activities.readmodel import queue_notice
from config.temporal import workflow_runner
from store.models.community import Organisation, User
from store.models.notices import NoticePreference
from store.models.readmodel import MissionRecord, Notification
from tests.activities.test_notify import Inbox, MailServer
from tests.workflows.conftest import eventually
from workflows.digest import SCHEDULE_ID, NoticeDigestWorkflow, ensure_digest_schedule

pytestmark = [pytest.mark.db, pytest.mark.devserver]


def _someone_on_digest(sessions: sessionmaker[Session]) -> str:
    tag = uuid.uuid4().hex[:8]
    with sessions() as s:
        org = Organisation(
            legal_name=f"Org {tag}", legal_form="SAS", country="FR", address_line="1 rue", postcode="75001",
            city="Paris", billing_email=f"b-{tag}@org.test",
        )  # fmt: skip
        s.add(org)
        s.flush()
        user = User(email=f"d-{tag}@org.test", full_name="Dana", password_hash="x", role="client",
                    organisation_id=org.id, org_role="admin")  # fmt: skip
        s.add(user)
        s.flush()
        s.add(NoticePreference(user_id=user.id, kind="reminder", mode="digest"))
        mission = MissionRecord(
            id=uuid.uuid4(), workflow_id=f"mission:{tag}", client_org_id=org.id, title="Plan de formation",
            business_function="hr", stage="proposals", paused=False,
        )  # fmt: skip
        s.add(mission)
        s.flush()
        queue_notice(
            s,
            NoticeRequest(workflow_id=mission.workflow_id, key="reminder:1", mission_id=mission.id, role="client",
                          party_id=org.id, kind="reminder", params={"due": "2026-12-30"}),
        )  # fmt: skip
        s.flush()
        notice = s.query(Notification).filter_by(workflow_id=mission.workflow_id).one()
        fan_out(s, notice, lambda key: f"<{key}@innot.test>")
        s.commit()
        return user.email


async def test_the_schedule_sends_the_digest(
    dev_server_env: WorkflowEnvironment, session_factory: sessionmaker[Session], task_queue: str
) -> None:
    server = MailServer(Inbox())
    server.start()
    email = _someone_on_digest(session_factory)
    acts = NotifyActivities(
        session_factory, Writer("innot <no-reply@innot.test>"), SmtpServer.from_url(f"smtp://127.0.0.1:{server.port}"),
        "https://innot.test",
    )  # fmt: skip
    client = dev_server_env.client
    try:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[NoticeDigestWorkflow],
            activities=acts.all(),
            activity_executor=ThreadPoolExecutor(4),
            workflow_runner=workflow_runner(),
        ):
            await ensure_digest_schedule(client, task_queue)
            await ensure_digest_schedule(client, task_queue)  # a second worker starting: nothing changes
            schedule = client.get_schedule_handle(SCHEDULE_ID)
            description = await schedule.describe()
            assert description.schedule.spec.calendars[0].hour[0].start == 6
            await schedule.trigger()
            [digest] = await eventually(lambda: server.inbox.to(email), within=20)
            assert "Plan de formation" in str(digest.get_body(preferencelist=("plain",)).get_content())
    finally:
        await client.get_schedule_handle(SCHEDULE_ID).delete()
        server.stop()
