"""The read-model activity against the real test database: a retry never duplicates."""

from __future__ import annotations

import multiprocessing
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from activities.projection import (
    AuditRecord,
    MissionRow,
    NoticeRequest,
    Projection,
    RatingRecord,
    RatingReply,
    RatingsRevealed,
    ReadModelWrite,
    TaskSpec,
)
from activities.readmodel import ReadModelActivities
from store.accounts import create_user
from store.db import make_engine, make_session_factory, transaction
from store.missions import InboxCache, inbox_version
from store.models.community import AuditEntry, Expert, Organisation
from store.models.readmodel import (
    OPS_PARTY,
    MissionExpert,
    MissionRating,
    MissionRecord,
    Notification,
    Task,
    TimelineEvent,
)

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


def project(acts: ReadModelActivities, event: Projection) -> bool:
    """One event, written as a workflow writes it; False when it was written already (a retry or a replay)."""
    return acts.write_read_model(ReadModelWrite(event=event))


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

    assert project(acts, first) is True
    assert project(acts, first) is False, "same (workflow id, seq): skipped whole"

    assert count(session_factory, TimelineEvent, mid) == 1
    assert count(session_factory, Task, mid) == 1
    assert count(session_factory, MissionExpert, mid) == 1


def test_tasks_close_and_a_late_event_never_rolls_the_mission_back(session_factory: sessionmaker[Session]) -> None:
    acts = ReadModelActivities(session_factory)
    mid = uuid.uuid4()
    project(
        acts, projection(mid, 1, "shortlist", open_tasks=[TaskSpec(key="review", role="client", action="r", title="r")])
    )
    project(acts, projection(mid, 3, "proposals", close_tasks=["*"], outcome="done"))
    project(acts, projection(mid, 2, "invitations"))  # arrives late

    with session_factory() as s:
        row = s.get(MissionRecord, mid)
        assert row is not None and row.stage == "proposals" and row.last_seq == 3
        task = s.scalars(select(Task).where(Task.mission_id == mid)).one()
        assert task.closed_at is not None and task.outcome == "done"
    assert count(session_factory, TimelineEvent, mid) == 3


def test_a_task_opened_or_closed_moves_its_inbox_version_and_no_other(session_factory: sessionmaker[Session]) -> None:
    """GET /tasks answers from its cache while the inbox's version stands: every change of an inbox's tasks must
    move that version, in the same transaction, and leave the other inboxes' alone (they stay cached)."""
    acts = ReadModelActivities(session_factory)
    mid, org, expert, bystander = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    client_inbox, expert_inbox, ops_inbox = ("client", org), ("expert", expert), ("ops", OPS_PARTY)
    other_inbox = ("expert", bystander)

    def versions() -> dict[tuple[str, uuid.UUID], int]:
        with session_factory() as s, s.connection() as c:
            return {k: inbox_version(c, k) for k in (client_inbox, expert_inbox, ops_inbox, other_inbox)}

    before = versions()
    review = TaskSpec(key="review", role="client", party_id=org, action="review_shortlist", title="Review")
    answer = TaskSpec(key="answer", role="expert", party_id=expert, action="answer_invitation", title="Answer")
    project(acts, projection(mid, 1, "shortlist", open_tasks=[review]))
    opened = versions()
    assert opened[client_inbox] == before[client_inbox] + 1
    assert opened[expert_inbox] == before[expert_inbox] and opened[other_inbox] == before[other_inbox]

    project(acts, projection(mid, 2, "invitations", close_tasks=["review"], open_tasks=[answer]))
    moved = versions()
    assert moved[client_inbox] == opened[client_inbox] + 1, "a closed task leaves the client's inbox"
    assert moved[expert_inbox] == opened[expert_inbox] + 1

    attention = TaskSpec(key="attention", role="ops", action="repair", title="Repair")
    project(acts, projection(mid, 3, "needs_attention", close_tasks=["*"], open_tasks=[attention], outcome="x"))
    last = versions()
    assert last[ops_inbox] == moved[ops_inbox] + 1
    assert last[expert_inbox] == moved[expert_inbox] + 1, "closing all the workflow's tasks closes the expert's"
    assert last[other_inbox] == before[other_inbox], "an unrelated inbox keeps its version (and its cached answer)"

    assert project(acts, projection(mid, 3, "needs_attention", close_tasks=["*"], open_tasks=[attention])) is False
    assert versions() == last, "a replayed event changes no task, hence no version"


def test_the_inbox_cache_answers_only_for_the_version_it_was_given() -> None:
    cache, key = InboxCache(size=2), ("client", uuid.uuid4())
    cache.put(key, 3, b"[3]")
    assert cache.get(key, 3) == b"[3]"
    assert cache.get(key, 4) is None, "the inbox changed since: read again"
    cache.put(key, 2, b"[2]")  # a slower request that read an older version
    assert cache.get(key, 3) == b"[3]" and cache.get(key, 2) is None
    others = [("expert", uuid.uuid4()) for _ in range(2)]
    for other in others:
        cache.put(other, 1, b"[]")
    assert cache.get(key, 3) is None, "the least recently read inbox went out first"
    assert all(cache.get(other, 1) == b"[]" for other in others)


def test_notice_is_queued_once(session_factory: sessionmaker[Session]) -> None:
    acts = ReadModelActivities(session_factory)
    mid = uuid.uuid4()
    notice = NoticeRequest(
        workflow_id=f"mission:{mid}", key="reminder:x", mission_id=mid, role="client", kind="reminder"
    )
    assert acts.write_read_model(ReadModelWrite(notices=[notice])) is True
    assert acts.write_read_model(ReadModelWrite(notices=[notice])) is False
    assert count(session_factory, Notification, mid) == 1


def test_ratings_reach_the_reputations_once_revealed(session_factory: sessionmaker[Session]) -> None:
    """Double-blind: a rating is kept hidden; the reveal adds the client's rating to the expert's reputation and the
    expert's to the client organisation's, and counts the completed mission, once (a retried write adds nothing)."""
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
        org = Organisation(legal_name="Acme SA", legal_form="SA", country="FR", address_line="1 rue A",
                           postcode="75001", city="Paris", billing_email="billing@acme.example")  # fmt: skip
        s.add_all([expert, org])
    acts = ReadModelActivities(session_factory)
    mid = uuid.uuid4()

    def rating(by: Literal["client", "expert"], score: int) -> RatingRecord:
        return RatingRecord(mission_id=mid, by=by, expert_id=expert.id, client_org_id=org.id, score=score, at=T0)

    for record in (rating("client", 5), rating("expert", 3)):
        assert acts.write_read_model(ReadModelWrite(rating=record)) is True
        assert acts.write_read_model(ReadModelWrite(rating=record)) is False

    def reputations() -> tuple[object, ...]:
        with session_factory() as s:
            e, o = s.get_one(Expert, expert.id), s.get_one(Organisation, org.id)
            return (e.rating, e.ratings_count, e.completed_missions, o.rating, o.ratings_count)

    assert reputations() == (Decimal("4.00"), 1, 0, Decimal("0.00"), 0), "hidden: no reputation moves"
    reveal = ReadModelWrite(
        event=projection(mid, 1, "feedback"),
        reveal=RatingsRevealed(mission_id=mid, expert_id=expert.id, client_org_id=org.id, at=T0),
    )
    assert acts.write_read_model(reveal) is True
    assert acts.write_read_model(reveal) is False
    assert reputations() == (Decimal("4.50"), 2, 1, Decimal("3.00"), 1)
    reply = RatingReply(mission_id=mid, by="client", reply="Merci", at=T0)
    assert acts.write_read_model(ReadModelWrite(reply=reply)) is True
    assert acts.write_read_model(ReadModelWrite(reply=reply.model_copy(update={"reply": "Again"}))) is False
    with session_factory() as s:
        rows = s.scalars(select(MissionRating).where(MissionRating.mission_id == mid).order_by(MissionRating.by))
        assert [(r.by, r.revealed_at, r.reply) for r in rows] == [("client", T0, "Merci"), ("expert", T0, "")]


def _write_events(url: str, mission_id: uuid.UUID, workflow: str, rounds: int, start: Any) -> None:
    """One worker process writing a workflow's events one at a time (its own engine, as a worker has)."""
    engine = make_engine(url)
    acts = ReadModelActivities(make_session_factory(engine))
    start.wait()
    for seq in range(2, rounds + 2):
        task = TaskSpec(key=f"{workflow}:{seq}", role="client", action="review", title=f"{workflow} {seq}")
        event = projection(mission_id, 1, "delivery", open_tasks=[task]).model_copy(
            update={"workflow_id": f"mission:{mission_id}:{workflow}", "seq": seq, "mission": None}
        )
        acts.write_read_model(ReadModelWrite(event=event))
    engine.dispose()


def test_concurrent_writes_of_a_mission_and_its_milestones_lose_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    """Milestones write their events at the same time (worker threads, or several worker processes): every event
    and every task reaches the materialised detail that GET /missions/{id} serves. On SQLite the reads used to run
    before the write lock was taken, and one refresh of the detail overwrote another."""
    acts = ReadModelActivities(session_factory)
    mid = uuid.uuid4()
    assert project(acts, projection(mid, 1, "delivery")) is True
    rounds, workflows = 40, ["milestone:1", "milestone:2", "milestone:3"]
    url = session_factory.kw["bind"].url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(len(workflows), mp_context=context) as pool:
        start = manager.Barrier(len(workflows))  # all at once
        for done in [pool.submit(_write_events, url, mid, w, rounds, start) for w in workflows]:
            done.result()
    with session_factory() as s:
        detail = s.get(MissionRecord, mid).detail  # type: ignore[union-attr]
    assert len(detail["timeline"]) == 1 + len(workflows) * rounds
    assert len(detail["open_tasks"]) == len(workflows) * rounds


def test_a_write_applied_twice_changes_nothing_the_second_time(session_factory: sessionmaker[Session]) -> None:
    """A retried write (the worker died after the commit, before the workflow heard of it): the event, the rating
    it gives and the audit entry of the ops action it records are all there once."""
    acts = ReadModelActivities(session_factory)
    mid = uuid.uuid4()
    expert = uuid.uuid4()
    with transaction(session_factory) as s:
        ops = create_user(
            s, email=f"ops.{mid.hex[:8]}@innot.example", full_name="Ops", password_hash="x", role="ops"
        ).id
    write = ReadModelWrite(
        event=projection(mid, 1, "feedback"),
        rating=RatingRecord(
            mission_id=mid, by="expert", expert_id=expert, client_org_id=uuid.UUID(int=1), score=4, at=T0
        ),
        audit=AuditRecord(at=T0, actor_user_id=ops, action="pause", target=f"mission:{mid}", reason="client away"),
    )
    assert acts.write_read_model(write) is True
    assert acts.write_read_model(write) is False  # a retried activity
    assert count(session_factory, TimelineEvent, mid) == 1
    with session_factory() as s:
        audits = s.scalars(select(AuditEntry).where(AuditEntry.target == f"mission:{mid}")).all()
        assert [(a.action, a.actor_user_id, a.reason) for a in audits] == [("pause", ops, "client away")]
        ratings = s.scalars(select(MissionRating).where(MissionRating.mission_id == mid)).all()
        assert [r.score for r in ratings] == [4]
        assert s.get(MissionRecord, mid).stage == "feedback"  # type: ignore[union-attr]


def test_an_audit_naming_an_unknown_account_does_not_hold_up_its_event(session_factory: sessionmaker[Session]) -> None:
    """The event of an ops action is written with its audit entry: an actor the database does not know (an account
    removed since) must not fail the write, which the workflow would retry for ever, its mission stuck."""
    acts = ReadModelActivities(session_factory)
    mid, stranger = uuid.uuid4(), uuid.uuid4()
    audit = AuditRecord(at=T0, actor_user_id=stranger, action="pause", target=f"mission:{mid}", reason="checking")
    write = ReadModelWrite(event=projection(mid, 1, "shortlist"), audit=audit)
    assert acts.write_read_model(write) is True
    assert acts.write_read_model(write) is False  # a retry adds nothing
    assert count(session_factory, TimelineEvent, mid) == 1
    with session_factory() as s:
        audits = s.scalars(select(AuditEntry).where(AuditEntry.target == f"mission:{mid}")).all()
        assert [(a.action, a.actor_user_id, a.details["unknown_actor_user_id"]) for a in audits] == [
            ("pause", None, str(stranger))
        ]
