"""The projection and notify activities against the real test database: a retry never duplicates."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from activities.notify import NotifyActivities
from activities.projection import MissionRow, NoticeRequest, Projection, RatingRecord, TaskSpec
from activities.readmodel import ReadModelActivities
from store.db import transaction
from store.models.community import Expert
from store.models.readmodel import MissionExpert, MissionRecord, Notification, Task, TimelineEvent

pytestmark = pytest.mark.db
T0 = datetime(2030, 1, 1, 9, tzinfo=UTC)


def projection(mission_id: uuid.UUID, seq: int, stage: str, **kw: object) -> Projection:
    return Projection(
        workflow_id=f"mission:{mission_id}",
        seq=seq,
        mission_id=mission_id,
        at=T0.replace(hour=9 + seq),
        kind=f"stage:{stage}",
        stage=stage,
        mission=MissionRow(
            mission_id=mission_id,
            client_org_id=uuid.UUID(int=1),
            title="A mission",
            business_function="finance",
            stage=stage,
            experts=kw.pop("experts", {}),
        ),
        **kw,
    )


def count(sessions: sessionmaker[Session], model: type, mission_id: uuid.UUID) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(model.mission_id == mission_id)) or 0  # type: ignore[attr-defined]


def test_replayed_projection_is_a_no_op(session_factory: sessionmaker[Session]) -> None:
    acts = ReadModelActivities(session_factory)
    mid = uuid.uuid4()
    expert = uuid.uuid4()
    task = TaskSpec(
        key=f"invitation:{expert}", role="expert", party_id=expert, action="answer_invitation", title="Answer"
    )
    first = projection(mid, 1, "invitations", open_tasks=[task], experts={str(expert): "pending"})

    assert acts.project(first) is True
    assert acts.project(first) is False, "same (workflow id, seq): skipped whole"

    assert count(session_factory, TimelineEvent, mid) == 1
    assert count(session_factory, Task, mid) == 1
    assert count(session_factory, MissionExpert, mid) == 1


def test_tasks_close_and_a_late_event_never_rolls_the_mission_back(session_factory: sessionmaker[Session]) -> None:
    acts = ReadModelActivities(session_factory)
    mid = uuid.uuid4()
    acts.project(
        projection(mid, 1, "shortlist", open_tasks=[TaskSpec(key="review", role="client", action="r", title="r")])
    )
    acts.project(projection(mid, 3, "proposals", close_tasks=["*"], outcome="done"))
    acts.project(projection(mid, 2, "invitations"))  # arrives late

    with session_factory() as s:
        row = s.get(MissionRecord, mid)
        assert row is not None and row.stage == "proposals" and row.last_seq == 3
        task = s.scalars(select(Task).where(Task.mission_id == mid)).one()
        assert task.closed_at is not None and task.outcome == "done"
    assert count(session_factory, TimelineEvent, mid) == 3


def test_notice_is_queued_once(session_factory: sessionmaker[Session]) -> None:
    notify = NotifyActivities(session_factory)
    mid = uuid.uuid4()
    notice = NoticeRequest(
        workflow_id=f"mission:{mid}", key="reminder:x", mission_id=mid, role="client", kind="reminder"
    )
    assert notify.notify(notice) is True
    assert notify.notify(notice) is False
    assert count(session_factory, Notification, mid) == 1


def test_client_rating_updates_the_expert_reputation_once(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        expert = Expert(
            display_name="Ada",
            legal_name="Ada Conseil",
            country="FR",
            address_line="1 rue A",
            postcode="75001",
            city="Paris",
            daily_rate=Decimal("900"),
            available_from=date(2030, 1, 1),
            vat_regime="vat_registered",
            rating=Decimal("4.00"),
            ratings_count=1,
        )
        s.add(expert)
    acts = ReadModelActivities(session_factory)
    record = RatingRecord(
        mission_id=uuid.uuid4(), by="client", expert_id=expert.id, client_org_id=uuid.uuid4(), score=5, at=T0
    )
    assert acts.record_rating(record) is True
    assert acts.record_rating(record) is False
    with session_factory() as s:
        again = s.get_one(Expert, expert.id)
        assert (again.rating, again.ratings_count, again.completed_missions) == (Decimal("4.50"), 2, 1)
