"""Notices to the parties: queued in an outbox keyed by (workflow id, key) by the read-model writes
(activities.readmodel), then delivered to each person of the
party: in the portal's feed at once, and by e-mail as each person chose (immediately, in the daily digest, or not
at all; legal notices always go out).

Delivery per person, and what holds when things break. One row per (notice, person) carries the e-mail's state:
`pending` -> `sending` (claimed: committed before the message is handed to the server) -> `sent` (committed once
the server accepted it), or `failed` (a permanent refusal, a bounce: kept for ops, not retried). A temporary failure
(server down, timeout) puts the row back to `pending` with the error, and the activity raises so that Temporal
retries it with back-off; rows already `sent` are never sent again. So:

- a notice is e-mailed at least once to each person whose row is not `failed`, however often the worker dies or the
  server is down (within the activity's schedule-to-close deadline; after that the row stays visible to ops);
- it is e-mailed at most once unless the worker dies (or its attempt times out) between the server's acceptance
  and the commit of `sent`, a window of one round trip to the database. SMTP has no exactly-once: in that window a
  retry sends the message again, and it then carries the same Message-ID (fixed per row when the row is created),
  by which mail clients and servers recognise a repeat. A row left in `sending` is exactly such a case, or an
  attempt still under way.
"""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.mail import Letter, MailRefused, SmtpServer, Writer
from domain.actions import answers_task
from domain.notices import is_legal
from store.db import transaction
from store.models.community import User
from store.models.notices import NoticePreference, NoticeRecipient
from store.models.readmodel import MissionRecord, Notification


class NoticeRef(BaseModel):
    workflow_id: str
    key: str


class NotifyActivities:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        writer: Writer | None = None,
        server: SmtpServer | None = None,
        public_url: str = "http://127.0.0.1:8000",
    ) -> None:
        self._sessions = session_factory
        self._writer = writer or Writer("innot <no-reply@innot.invalid>")
        self._server = server
        self._public_url = public_url.rstrip("/")

    def all(self) -> list[Callable[..., Any]]:
        """The activities to register on the missions task queue (sync: give the worker a thread pool)."""
        return [self.deliver_notice, self.send_digests]

    @activity.defn
    def deliver_notice(self, ref: NoticeRef) -> int:
        """Deliver a queued notice to every person of its party; how many e-mails went out. A temporary SMTP
        failure raises (Temporal retries with back-off: nothing is lost while the mail server is down); what was
        sent stays sent."""
        with transaction(self._sessions) as s:
            notice = s.scalar(
                select(Notification).where(Notification.workflow_id == ref.workflow_id, Notification.key == ref.key)
            )
            if notice is None:
                raise ApplicationError(f"no notice {ref.key} of {ref.workflow_id}", non_retryable=True)
            pending = fan_out(s, notice, self._writer.message_id)
        return sum(self._email(recipient_id) for recipient_id in pending)

    @activity.defn
    def send_digests(self) -> int:
        """One e-mail per person listing the notices they chose to receive as a digest; how many went out."""
        with self._sessions() as s:
            users = s.scalars(
                select(NoticeRecipient.user_id).where(NoticeRecipient.email_status == "digest").distinct()
            ).all()
        return sum(self._digest(user_id) for user_id in users)

    def _email(self, recipient_id: uuid.UUID) -> int:
        if self._server is None:  # no mail server (tests, a development machine): the portal's feed only
            return 0
        with self._sessions() as s:
            row = s.get_one(NoticeRecipient, recipient_id)
            if row.email_status not in ("pending", "sending"):  # `sending`: a previous attempt died mid-send
                return 0
            notice = s.get_one(Notification, row.notification_id)
            user = s.get_one(User, row.user_id)
            letter = Letter(
                to_name=user.full_name,
                to_address=user.email,
                language=user.language,
                kind=notice.kind,
                params=notice.params | {"mission": _subject_title(s, notice)},
                link=self._link(notice),
            )
            message = self._writer.message(letter, row.message_id)
            row.email_status, row.email_attempts = "sending", row.email_attempts + 1  # the claim, before the send
            s.commit()
            try:
                self._server.send(message)
            except MailRefused as exc:  # a bounce: visible to ops, not retried
                row.email_status, row.email_error = "failed", str(exc)[:2000]
                s.commit()
                return 0
            except (smtplib.SMTPException, OSError) as exc:  # nothing accepted: pending again, retried
                row.email_status, row.email_error = "pending", f"{type(exc).__name__}: {exc}"[:2000]
                s.commit()
                raise
            row.email_status, row.emailed_at, row.email_error = "sent", datetime.now(UTC), None
            s.commit()
            return 1

    def _digest(self, user_id: uuid.UUID) -> int:
        if self._server is None:
            return 0
        with self._sessions() as s:
            user = s.get_one(User, user_id)
            rows = s.scalars(
                select(NoticeRecipient)
                .where(NoticeRecipient.user_id == user_id, NoticeRecipient.email_status == "digest")
                .order_by(NoticeRecipient.created_at)
            ).all()
            if not rows:
                return 0
            lines = []
            for row in rows:
                notice = s.get_one(Notification, row.notification_id)
                params = notice.params | {"mission": _subject_title(s, notice)}
                lines.append((notice.kind, params, self._link(notice)))
            message = self._writer.digest(user, lines, self._writer.message_id(f"digest-{rows[0].id}"))
            self._server.send(message)
            now = datetime.now(UTC)
            for row in rows:
                row.email_status, row.emailed_at = "sent", now
            s.commit()
            return 1

    def _link(self, notice: Notification) -> str:
        if notice.workflow_id.startswith("membership:"):
            return f"{self._public_url}/portal/profile"
        return f"{self._public_url}/portal/missions/{notice.mission_id}"


def recipients_of(s: Session, role: str, party_id: uuid.UUID | None, action: str | None = None) -> list[User]:
    """The people a party's notices reach: every active member of a client organisation (for a notice about a task,
    `action`, the members whose role answers it: an approval reaches the approvers), the expert's account, every
    ops account."""
    query = select(User).where(User.is_active.is_(True), User.role == role)
    if role == "client":
        query = query.where(User.organisation_id == party_id)
    elif role == "expert":
        query = query.where(User.expert_id == party_id)
    people = s.scalars(query.order_by(User.created_at))
    return [u for u in people if action is None or answers_task(role, u.org_role, action)]


def fan_out(s: Session, notice: Notification, message_id: Callable[[str], str]) -> list[uuid.UUID]:
    """One recipient row per person (idempotent), its e-mail state set from their preference; the rows whose
    e-mail is still to send."""
    known = {
        r.user_id: r for r in s.scalars(select(NoticeRecipient).where(NoticeRecipient.notification_id == notice.id))
    }
    legal = is_legal(notice.kind, notice.params)
    for user in recipients_of(s, notice.role, notice.party_id, notice.params.get("action")):
        if user.id in known:
            continue
        mode = s.scalar(
            select(NoticePreference.mode).where(
                NoticePreference.user_id == user.id, NoticePreference.kind == notice.kind
            )
        )
        status = "pending" if legal or mode in (None, "immediate") else mode
        row = NoticeRecipient(
            id=uuid.uuid4(), notification_id=notice.id, user_id=user.id, email_status=status, email_attempts=0
        )
        row.message_id = message_id(f"notice-{row.id}")
        s.add(row)
        known[user.id] = row
    s.flush()
    return [r.id for r in known.values() if r.email_status in ("pending", "sending")]


def _subject_title(s: Session, notice: Notification) -> str:
    mission = s.get(MissionRecord, notice.mission_id)
    return mission.title if mission is not None else ""
