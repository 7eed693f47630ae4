"""Private messaging between a mission's client members and each of its experts, encrypted at rest."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.crypto import DataCipher
from domain.visibility import sees_thread
from store.access import expert_status, sight_of
from store.models.community import AuditEntry, User
from store.models.messaging import Message
from store.models.readmodel import MissionRecord


class NotAParticipant(Exception):
    """The user may not read or write this thread; the API answers 404 as for a missing thread."""


class ThreadClosedToOps(Exception):
    def __init__(self) -> None:
        super().__init__("ops may read or write a mission's messages only while a dispute is open")


@dataclass(frozen=True)
class PlainMessage:
    id: uuid.UUID
    author_user_id: uuid.UUID
    author_name: str
    body: str
    created_at: datetime


def _thread_context(mission_id: uuid.UUID, expert_id: uuid.UUID) -> str:
    return f"message:{mission_id}:{expert_id}"


def check_participant(session: Session, *, user: User, mission: MissionRecord, expert_id: uuid.UUID) -> None:
    """The thread exists (its expert takes part in the mission) and this user may read it (domain.visibility)."""
    if expert_status(session, mission, expert_id) is None:
        raise NotAParticipant
    sight = sight_of(session, user=user, mission=mission)
    if sight is None or not sees_thread(sight.standing, sight.viewer, thread_expert_id=expert_id):
        raise NotAParticipant


def post(
    session: Session, cipher: DataCipher, *, user: User, mission: MissionRecord, expert_id: uuid.UUID, body: str
) -> PlainMessage:
    check_participant(session, user=user, mission=mission, expert_id=expert_id)
    sealed = cipher.seal_text(body, associated=_thread_context(mission.id, expert_id))
    message = Message(
        mission_id=mission.id,
        expert_id=expert_id,
        author_user_id=user.id,
        body_sealed=sealed,
        key_id=sealed.partition(":")[0],
        created_at=datetime.now(UTC),
    )
    session.add(message)
    session.flush()
    return PlainMessage(message.id, user.id, user.full_name, body, message.created_at)


def read(
    session: Session, cipher: DataCipher, *, mission: MissionRecord, expert_id: uuid.UUID, limit: int = 200
) -> list[PlainMessage]:
    rows = session.execute(
        select(Message, User.full_name)
        .join(User, User.id == Message.author_user_id)
        .where(Message.mission_id == mission.id, Message.expert_id == expert_id)
        .order_by(Message.created_at, Message.id)
        .limit(limit)
    )
    context = _thread_context(mission.id, expert_id)
    return [
        PlainMessage(m.id, m.author_user_id, name, cipher.open_text(m.body_sealed, associated=context), m.created_at)
        for m, name in rows
    ]


def threads(session: Session, *, mission: MissionRecord, user: User) -> list[tuple[uuid.UUID, int, datetime]]:
    """(expert id, message count, last message time) for the threads this user may read."""
    query = (
        select(Message.expert_id, func.count(), func.max(Message.created_at))
        .where(Message.mission_id == mission.id)
        .group_by(Message.expert_id)
    )
    sight = sight_of(session, user=user, mission=mission)
    if sight is None:
        return []
    if user.role == "expert":
        query = query.where(Message.expert_id == user.expert_id)
    return [
        (expert_id, int(count), last)
        for expert_id, count, last in session.execute(query)
        if sees_thread(sight.standing, sight.viewer, thread_expert_id=expert_id)
    ]


def ops_read(
    session: Session,
    cipher: DataCipher,
    *,
    ops_user: User,
    mission: MissionRecord,
    expert_id: uuid.UUID,
    reason: str,
) -> list[PlainMessage]:
    """Ops read a thread only while the mission is disputed; every reading is audited."""
    if mission.stage != "disputed":
        raise ThreadClosedToOps
    messages = read(session, cipher, mission=mission, expert_id=expert_id)
    session.add(
        AuditEntry(
            at=datetime.now(UTC),
            actor_user_id=ops_user.id,
            action="read_messages",
            target=f"mission:{mission.id}",
            reason=reason,
            details={"expert_id": str(expert_id), "messages": len(messages)},
        )
    )
    return messages


def ops_post(
    session: Session, cipher: DataCipher, *, ops_user: User, mission: MissionRecord, expert_id: uuid.UUID, body: str
) -> PlainMessage:
    """Ops mediate a dispute in the thread of the mission's expert, only while the mission is disputed; every
    message is audited (who, when, which thread; never the body, which stays encrypted in its thread)."""
    if mission.stage != "disputed":
        raise ThreadClosedToOps
    if mission.selected_expert_id != expert_id:
        raise NotAParticipant
    sealed = cipher.seal_text(body, associated=_thread_context(mission.id, expert_id))
    now = datetime.now(UTC)
    message = Message(
        mission_id=mission.id,
        expert_id=expert_id,
        author_user_id=ops_user.id,
        body_sealed=sealed,
        key_id=sealed.partition(":")[0],
        created_at=now,
    )
    session.add(message)
    session.flush()
    session.add(
        AuditEntry(
            at=now,
            actor_user_id=ops_user.id,
            action="mediate_dispute",
            target=f"mission:{mission.id}",
            reason="message in the dispute thread",
            details={"expert_id": str(expert_id), "message_id": str(message.id)},
        )
    )
    return PlainMessage(message.id, ops_user.id, ops_user.full_name, body, message.created_at)


def reencrypt(session: Session, cipher: DataCipher, *, batch: int = 500) -> int:
    """After a key rotation, re-seal messages under the active key. Returns how many were re-sealed."""
    done = 0
    while True:
        rows = list(session.scalars(select(Message).where(Message.key_id != cipher.active).limit(batch)))
        if not rows:
            return done
        for m in rows:
            context = _thread_context(m.mission_id, m.expert_id)
            m.body_sealed = cipher.seal_text(cipher.open_text(m.body_sealed, associated=context), associated=context)
            m.key_id = cipher.active
        session.flush()
        done += len(rows)
