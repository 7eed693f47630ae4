"""Notices to the parties (reminders, expiries, late-payment notices): written to an outbox table keyed by
(workflow id, key), so a retried activity never sends twice. Ids and parameters only; the mailer renders the
message from the kind in the recipient's language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.projection import NoticeRequest
from store.db import transaction
from store.models.readmodel import Notification


class NotifyActivities:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    def all(self) -> list[Callable[..., Any]]:
        """The activities to register on the missions task queue (sync: give the worker a thread pool)."""
        return [self.notify]

    @activity.defn(name="notify_party")
    def notify(self, n: NoticeRequest) -> bool:
        """Queue one notice; False when it was queued already."""
        try:
            with transaction(self._sessions) as s:
                return queue_notice(s, n)
        except IntegrityError:
            return False


def queue_notice(s: Session, n: NoticeRequest) -> bool:
    """Add the notice to the outbox in the caller's transaction; False when it is there already."""
    exists = s.scalar(
        select(Notification.id).where(Notification.workflow_id == n.workflow_id, Notification.key == n.key)
    )
    if exists is not None:
        return False
    s.add(
        Notification(
            workflow_id=n.workflow_id,
            key=n.key,
            mission_id=n.mission_id,
            role=n.role,
            party_id=n.party_id,
            kind=n.kind,
            params=n.params,
        )
    )
    return True
