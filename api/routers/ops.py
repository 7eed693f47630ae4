"""Routes for platform staff. Every action is audited; the audit log is readable here, and so is the e-mail of
notices that has not gone out (the mail server down, a bounce)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import func, select

from api.deps import OpsUser, SessionDep
from api.errors import ERROR_RESPONSES
from api.schemas.profiles import AuditRead
from store.models.community import AuditEntry, User
from store.models.notices import NoticeRecipient
from store.models.readmodel import Notification

router = APIRouter(prefix="/ops", tags=["ops"], responses=ERROR_RESPONSES)


@router.get("/audit", response_model=list[AuditRead])
def audit_log(
    _user: OpsUser,
    session: SessionDep,
    target: Annotated[str | None, Query(max_length=200, description="e.g. mission:<id>")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.at.desc()).limit(limit)
    if target:
        query = query.where(AuditEntry.target == target)
    return list(session.scalars(query))


class UndeliveredMail(BaseModel):
    id: uuid.UUID
    status: str
    kind: str
    mission_id: uuid.UUID
    to: str
    attempts: int
    error: str | None
    created_at: datetime


class MailReport(BaseModel):
    counts: dict[str, int]  # e-mail state -> notices in it
    undelivered: list[UndeliveredMail]  # pending or sending after an attempt, and failed: newest first


@router.get("/mail", response_model=MailReport, summary="Notices' e-mails not delivered: retried, in flight, bounced")
def undelivered_mail(
    _user: OpsUser, session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> MailReport:
    counts = dict(
        session.execute(select(NoticeRecipient.email_status, func.count()).group_by(NoticeRecipient.email_status))
        .tuples()
        .all()
    )
    rows = session.execute(
        select(NoticeRecipient, Notification.kind, Notification.mission_id, User.email)
        .join(Notification, Notification.id == NoticeRecipient.notification_id)
        .join(User, User.id == NoticeRecipient.user_id)
        .where(
            (NoticeRecipient.email_status == "failed")
            | (NoticeRecipient.email_status.in_(("pending", "sending")) & (NoticeRecipient.email_attempts > 0))
        )
        .order_by(NoticeRecipient.created_at.desc())
        .limit(limit)
    )
    return MailReport(
        counts=counts,
        undelivered=[
            UndeliveredMail(
                id=r.id,
                status=r.email_status,
                kind=kind,
                mission_id=mission_id,
                to=email,
                attempts=r.email_attempts,
                error=r.email_error,
                created_at=r.created_at,
            )
            for r, kind, mission_id, email in rows
        ],
    )
