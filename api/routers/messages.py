"""Private messages of a mission: one thread per expert; ops read a thread, and write in the contracted expert's to
mediate, only during a dispute (audited)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, status

from api.deps import CipherDep, CurrentUser, OpsUser, SessionDep, VisibleMission
from api.errors import ERROR_RESPONSES
from api.schemas.messages import MessageCreate, MessageRead, ThreadRead
from store import messaging
from store.models.readmodel import MissionRecord

router = APIRouter(tags=["messages"], responses=ERROR_RESPONSES)

_NOT_FOUND = "thread not found"


@router.get("/missions/{mission_id}/threads", response_model=list[ThreadRead])
def list_threads(mission: VisibleMission, user: CurrentUser, session: SessionDep) -> list[ThreadRead]:
    if user.role == "ops":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "ops read threads through /ops/missions/{id}/threads/...")
    return [
        ThreadRead(expert_id=e, messages=n, last_message_at=last)
        for e, n, last in messaging.threads(session, mission=mission, user=user)
    ]


@router.get("/missions/{mission_id}/threads/{expert_id}/messages", response_model=list[MessageRead])
def read_thread(
    mission: VisibleMission, expert_id: UUID, user: CurrentUser, session: SessionDep, cipher: CipherDep
) -> list[messaging.PlainMessage]:
    try:
        messaging.check_participant(session, user=user, mission=mission, expert_id=expert_id)
    except messaging.NotAParticipant as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND) from exc
    return messaging.read(session, cipher, mission=mission, expert_id=expert_id)


@router.post(
    "/missions/{mission_id}/threads/{expert_id}/messages",
    response_model=MessageRead,
    status_code=status.HTTP_201_CREATED,
)
def post_message(
    body: MessageCreate,
    mission: VisibleMission,
    expert_id: UUID,
    user: CurrentUser,
    session: SessionDep,
    cipher: CipherDep,
) -> messaging.PlainMessage:
    try:
        message = messaging.post(session, cipher, user=user, mission=mission, expert_id=expert_id, body=body.body)
    except messaging.NotAParticipant as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND) from exc
    session.commit()
    return message


@router.get("/ops/missions/{mission_id}/threads/{expert_id}/messages", response_model=list[MessageRead])
def ops_read_thread(
    mission_id: UUID,
    expert_id: UUID,
    user: OpsUser,
    session: SessionDep,
    cipher: CipherDep,
    reason: Annotated[str, Query(min_length=5, max_length=500, description="why this reading is needed")],
) -> list[messaging.PlainMessage]:
    mission = session.get(MissionRecord, mission_id)
    if mission is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "mission not found")
    try:
        messages = messaging.ops_read(
            session, cipher, ops_user=user, mission=mission, expert_id=expert_id, reason=reason
        )
    except messaging.ThreadClosedToOps as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    session.commit()
    return messages


@router.post(
    "/ops/missions/{mission_id}/threads/{expert_id}/messages",
    response_model=MessageRead,
    status_code=status.HTTP_201_CREATED,
    summary="Mediate a dispute: write in the thread of the mission's expert (while disputed; audited)",
)
def ops_post_message(
    body: MessageCreate, mission_id: UUID, expert_id: UUID, user: OpsUser, session: SessionDep, cipher: CipherDep
) -> messaging.PlainMessage:
    mission = session.get(MissionRecord, mission_id)
    if mission is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "mission not found")
    try:
        message = messaging.ops_post(
            session, cipher, ops_user=user, mission=mission, expert_id=expert_id, body=body.body
        )
    except messaging.ThreadClosedToOps as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except messaging.NotAParticipant as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND) from exc
    session.commit()
    return message
