"""The projection records which expert each timeline event concerns, so that every read filters it by one rule."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from activities.projection import MilestoneRow, MissionRow, Projection, ReadModelWrite, TaskSpec
from activities.readmodel import ReadModelActivities
from api.routers.missions import detail_of
from store.models.community import User
from store.models.readmodel import MissionRecord, TimelineEvent

pytestmark = pytest.mark.db
T0 = datetime(2020, 3, 1, 9, tzinfo=UTC)  # in the past: no later test takes this mission for the latest one


def test_each_event_names_the_expert_it_concerns(session_factory: sessionmaker[Session]) -> None:
    mission_id, org = uuid.uuid4(), uuid.uuid4()
    winner, loser = uuid.uuid4(), uuid.uuid4()
    wf = f"mission:{mission_id}"
    experts: dict[str, str] = {}
    seq = 0

    def event(kind: str, stage: str, summary: str = "", selected: uuid.UUID | None = None, **kw: object) -> Projection:
        nonlocal seq
        seq += 1
        row = MissionRow(
            mission_id=mission_id,
            client_org_id=org,
            title="Budget",
            business_function="finance",
            stage=stage,
            selected_expert_id=selected,
            experts=dict(experts),
        )
        at = T0 + timedelta(minutes=seq)
        return Projection(
            workflow_id=wf, seq=seq, mission_id=mission_id, at=at, kind=kind, stage=stage, summary=summary, mission=row,
            **kw,  # type: ignore[arg-type]
        )  # fmt: skip

    def invitation(expert: uuid.UUID) -> TaskSpec:
        key = f"invitation:{expert}"
        return TaskSpec(key=key, role="expert", party_id=expert, action="answer_invitation", title="Answer")

    batch = [event("need_submitted", "need", "Budget"), event("shortlist_ready", "shortlist", "2 candidates")]
    experts.update({str(winner): "pending", str(loser): "pending"})
    batch += [event("expert_invited", "invitations", str(e), open_tasks=[invitation(e)]) for e in (winner, loser)]
    experts.update({str(winner): "accepted", str(loser): "accepted"})
    batch += [event("invitation_accepted", "invitations", close_tasks=[f"invitation:{e}"]) for e in (winner, loser)]
    batch += [
        event("proposal_submitted", "proposals", price, close_tasks=[f"proposal:1:{e}"])
        for e, price in ((winner, "9000.00 EUR"), (loser, "9500.00 EUR"))
    ]
    experts[str(winner)] = "selected"
    batch.append(event("stage:contract", "contract", "proposal selected", winner, details={"expert_id": str(winner)}))
    batch.append(event("contract_ready", "contract", "contract ready to sign", winner))
    milestone = Projection(
        workflow_id=f"{wf}:milestone:1",
        seq=1,
        mission_id=mission_id,
        at=T0 + timedelta(hours=2),
        kind="milestone:awaiting_payment",
        stage="awaiting_payment",
        summary="invoice FA-1 issued",
        milestone=MilestoneRow(
            mission_id=mission_id, number=1, title="Diagnostic", amount=Decimal("3600.00"), currency="EUR",
            stage="awaiting_payment", invoice_number="FA-1",
        ),
    )  # fmt: skip
    acts = ReadModelActivities(session_factory)
    for event_ in [*batch, milestone]:  # each event is one write, in order, as the workflows write them
        acts.write_read_model(ReadModelWrite(event=event_))

    with session_factory() as session:
        recorded = session.execute(
            select(TimelineEvent.kind, TimelineEvent.expert_id)
            .where(TimelineEvent.mission_id == mission_id)
            .order_by(TimelineEvent.at)
        ).all()
        assert [(kind, expert) for kind, expert in recorded] == [
            ("need_submitted", None),
            ("shortlist_ready", None),
            ("expert_invited", winner),
            ("expert_invited", loser),
            ("invitation_accepted", winner),
            ("invitation_accepted", loser),
            ("proposal_submitted", winner),
            ("proposal_submitted", loser),
            ("stage:contract", winner),
            ("contract_ready", winner),
            ("milestone:awaiting_payment", winner),
        ]
        mission = session.get(MissionRecord, mission_id)
        assert mission is not None and mission.detail is not None
        candidate = detail_of(session, mission, User(role="expert", expert_id=loser))
        assert [(e.kind, e.summary) for e in candidate.timeline] == [
            ("need_submitted", "Budget"),
            ("expert_invited", str(loser)),
            ("invitation_accepted", ""),
            ("proposal_submitted", "9500.00 EUR"),
        ]
        assert candidate.milestones == [] and candidate.mission.selected_expert_id is None
        contractor = detail_of(session, mission, User(role="expert", expert_id=winner))
        assert [e.summary for e in contractor.timeline if e.kind == "proposal_submitted"] == ["9000.00 EUR"]
        assert [m.invoice_number for m in contractor.milestones] == ["FA-1"]
        client = detail_of(session, mission, User(role="client", organisation_id=org))
        assert len(client.timeline) == len(recorded)
        # a detail rebuilt from the tables (the migration clears the materialised ones) filters the same
        rebuilt = MissionRecord(**{c.name: getattr(mission, c.name) for c in MissionRecord.__table__.columns})
        rebuilt.detail = None
        assert detail_of(session, rebuilt, User(role="expert", expert_id=loser)) == candidate
