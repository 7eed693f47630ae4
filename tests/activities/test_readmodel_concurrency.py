"""The mission and its milestones project at the same time: the materialised detail must still hold every event
and task, exactly as the tables do (on PostgreSQL the mission row lock serialises them; SQLite has one writer)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from activities.projection import MilestoneRow, MissionRow, Projection, ReadModelWrite, TaskSpec
from activities.readmodel import ReadModelActivities
from api.routers.missions import detail_of
from store.models.community import User
from store.models.readmodel import MissionRecord

pytestmark = pytest.mark.db


def test_concurrent_projections_keep_the_materialised_detail_whole(session_factory: sessionmaker[Session]) -> None:
    mission_id, org = uuid.uuid4(), uuid.uuid4()
    start = datetime.now(UTC)
    row = MissionRow(
        mission_id=mission_id, client_org_id=org, title="Audit", business_function="finance", stage="delivery"
    )
    activities = ReadModelActivities(session_factory)
    first = Projection(workflow_id=f"mission:{mission_id}", seq=1, mission_id=mission_id, at=start, kind="start",
                       stage="delivery", mission=row)  # fmt: skip
    assert activities.write_read_model(ReadModelWrite(event=first))

    def events(workflow_id: str, milestone: int | None) -> list[Projection]:
        return [
            Projection(
                workflow_id=workflow_id,
                seq=seq,
                mission_id=mission_id,
                at=start + timedelta(milliseconds=seq),
                kind="step",
                stage="delivery",
                mission=row if milestone is None else None,
                milestone=MilestoneRow(
                    mission_id=mission_id,
                    number=milestone,
                    title="M",
                    amount=Decimal("10.00"),
                    currency="EUR",
                    stage="in_review",
                )
                if milestone
                else None,
                open_tasks=[TaskSpec(key=f"t{seq}", role="client", party_id=org, action="review", title="t")],
                close_tasks=[f"t{seq - 1}"],
            )
            for seq in range(2, 32)
        ]

    def run(batch: list[Projection]) -> None:
        for p in batch:
            while True:  # an activity retries: SQLite may refuse a stale snapshot under contention
                try:
                    activities.write_read_model(ReadModelWrite(event=p))
                    break
                except OperationalError:
                    continue

    batches = [events(f"mission:{mission_id}", None)] + [
        events(f"mission:{mission_id}:milestone:{n}", n) for n in (1, 2)
    ]
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(run, batches))

    client = User(role="client", organisation_id=org, org_role="admin")
    with session_factory() as session:
        mission = session.get(MissionRecord, mission_id)
        assert mission is not None and mission.detail is not None
        served = detail_of(session, mission, client)
        without_detail = MissionRecord(
            id=mission.id, client_org_id=org, title="Audit", business_function="finance", stage=mission.stage,
            paused=False, workflow_id=mission.workflow_id, created_at=mission.created_at, updated_at=mission.updated_at,
        )  # fmt: skip
        rebuilt = detail_of(session, without_detail, client)
    assert len(served.timeline) == 1 + 3 * 30
    assert served.timeline == rebuilt.timeline
    assert served.open_tasks == rebuilt.open_tasks and len(served.open_tasks) == 3  # the last task of each workflow
