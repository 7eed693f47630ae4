"""My notices (the in-app feed): what the platform told me, unread first; mark as read; choose per kind how I am
e-mailed (immediately, in the daily digest, or not at all: legal notices always go out)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.deps import CurrentUser, SessionDep
from api.errors import ERROR_RESPONSES
from config.i18n import translations
from domain.notices import KINDS, TASKS, render
from store.models.community import User
from store.models.notices import NoticePreference, NoticeRecipient
from store.models.readmodel import MissionRecord, Notification

router = APIRouter(prefix="/notifications", tags=["notifications"], responses=ERROR_RESPONSES)

Mode = Literal["immediate", "digest", "off"]
SWITCHABLE = sorted({"task", *(k for k, t in KINDS.items() if not t.legal)})


class NoticeRead(BaseModel):
    id: uuid.UUID
    kind: str
    subject: str
    body: str
    mission_id: uuid.UUID
    link: str = Field(description="the portal page the notice is about")
    created_at: datetime
    read_at: datetime | None
    email: str = Field(description="pending | sending | sent | digest | off | failed")


class NoticeFeed(BaseModel):
    unread: int
    items: list[NoticeRead]


class Preference(BaseModel):
    kind: str = Field(description="a kind of notice; `task` covers every 'you have something to do' notice")
    mode: Mode


def unread_count(session: Session, user: User) -> int:
    query = select(func.count()).where(NoticeRecipient.user_id == user.id, NoticeRecipient.read_at.is_(None))
    return int(session.scalar(query) or 0)


def link_of(notice: Notification) -> str:
    """The portal page a notice is about (its task is there)."""
    if notice.workflow_id.startswith("membership:"):
        return "/portal/profile"
    return f"/portal/missions/{notice.mission_id}"


def feed(
    session: Session, user: User, *, limit: int = 50, unread_only: bool = False, lang: str | None = None
) -> NoticeFeed:
    """The person's own notices, newest first, written in `lang` (default: their language); the API and the portal
    both list through here."""
    lang = lang or user.language
    gettext = translations(lang).gettext
    query = (
        select(NoticeRecipient, Notification, MissionRecord.title)
        .join(Notification, Notification.id == NoticeRecipient.notification_id)
        .outerjoin(MissionRecord, MissionRecord.id == Notification.mission_id)
        .where(NoticeRecipient.user_id == user.id)
        .order_by(NoticeRecipient.created_at.desc())
        .limit(limit)
    )
    if unread_only:
        query = query.where(NoticeRecipient.read_at.is_(None))
    items = []
    for recipient, notice, title in session.execute(query):
        subject, body = render(notice.kind, notice.params | {"mission": title or ""}, lang, gettext)
        items.append(
            NoticeRead(
                id=recipient.id,
                kind=notice.params.get("action", notice.kind) if notice.kind == "task" else notice.kind,
                subject=subject,
                body=body,
                mission_id=notice.mission_id,
                link=link_of(notice),
                created_at=recipient.created_at,
                read_at=recipient.read_at,
                email=recipient.email_status,
            )
        )
    return NoticeFeed(unread=unread_count(session, user), items=items)


@router.get("", response_model=NoticeFeed, summary="My notices, newest first, with the unread count")
def my_notices(
    user: CurrentUser,
    session: SessionDep,
    unread: Annotated[bool, Query(description="only the unread ones")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NoticeFeed:
    return feed(session, user, limit=limit, unread_only=unread)


@router.post("/{notice_id}/read", status_code=status.HTTP_204_NO_CONTENT, summary="Mark one notice as read")
def mark_read(notice_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> None:
    read_one(session, user, notice_id)


def read_one(session: Session, user: User, notice_id: uuid.UUID) -> str:
    """Mark one of the person's notices as read; the page it is about."""
    row = session.get(NoticeRecipient, notice_id)
    if row is None or row.user_id != user.id:  # another person's notice is reported like a missing one
        raise HTTPException(status.HTTP_404_NOT_FOUND, "notice not found")
    row.read_at = row.read_at or datetime.now(UTC)
    link = link_of(session.get_one(Notification, row.notification_id))
    session.commit()
    return link


@router.post("/read-all", status_code=status.HTTP_204_NO_CONTENT, summary="Mark every notice as read")
def mark_all_read(user: CurrentUser, session: SessionDep) -> None:
    session.execute(
        update(NoticeRecipient)
        .where(NoticeRecipient.user_id == user.id, NoticeRecipient.read_at.is_(None))
        .values(read_at=datetime.now(UTC))
    )
    session.commit()


@router.get("/preferences", response_model=list[Preference], summary="How I am e-mailed, per kind of notice")
def my_preferences(user: CurrentUser, session: SessionDep) -> list[Preference]:
    rows = session.execute(
        select(NoticePreference.kind, NoticePreference.mode).where(NoticePreference.user_id == user.id)
    )
    chosen: dict[str, str] = {kind: mode for kind, mode in rows}
    return [Preference.model_validate({"kind": kind, "mode": chosen.get(kind, "immediate")}) for kind in SWITCHABLE]


@router.put("/preferences", response_model=list[Preference], summary="Choose how I am e-mailed, per kind")
def set_preferences(body: list[Preference], user: CurrentUser, session: SessionDep) -> list[Preference]:
    for i, preference in enumerate(body):
        if preference.kind not in SWITCHABLE:
            legal = preference.kind in KINDS or preference.kind in TASKS
            why = "is a legal notice and cannot be switched off" if legal else "is not a kind of notice"
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"body[{i}].kind: {preference.kind!r} {why}; choose among {', '.join(SWITCHABLE)}",
            )
    for preference in body:
        row = session.get(NoticePreference, (user.id, preference.kind))
        if row is None:
            session.add(NoticePreference(user_id=user.id, kind=preference.kind, mode=preference.mode))
        else:
            row.mode = preference.mode
    session.commit()
    return my_preferences(user, session)
