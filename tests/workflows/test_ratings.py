"""Ratings are double-blind: neither party sees the other's rating (nor its score in the timeline) until both rated
or the feedback window closed; then each rated party may answer the rating they received, once, publicly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import BaseModel
from temporalio.client import WorkflowUpdateFailedError

from domain.mission import AnswerRating, MissionView, RateParty
from domain.stages import Stage
from domain.visibility import Viewer, redact_view
from tests.workflows import flows
from tests.workflows.conftest import Harness, terms
from workflows.client import rejection_reason

pytestmark = pytest.mark.db


async def _to_feedback(h: Harness) -> MissionView:
    await flows.to_delivery(h, terms("3000.00"))
    await flows.deliver(h, 1)
    await flows.accept(h, 1)
    return await h.until(lambda v: v.stage is Stage.FEEDBACK and bool(v.deadlines))


async def _refused(h: Harness, name: str, cmd: BaseModel) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.update(name, cmd)
    return rejection_reason(err.value)


def _scores(view: MissionView, viewer: Viewer) -> dict[str, int]:
    return {r.by: r.score for r in redact_view(view, viewer).ratings}


async def test_neither_party_sees_the_other_rating_until_both_rated(ts: Harness) -> None:
    h = ts
    view = await _to_feedback(h)
    assert view.selected_expert_id is not None
    expert = h.expert(view.selected_expert_id)
    client_sees = Viewer("client", organisation_id=h.org_id)
    expert_sees = Viewer("expert", expert_id=view.selected_expert_id)

    view = await h.update("rate", RateParty(actor=h.client_actor, score=2, comment="late twice"))
    assert not view.ratings_revealed
    assert _scores(view, client_sees) == {"client": 2}, "one's own rating"
    assert _scores(view, expert_sees) == {}, "not the client's rating: the expert has not rated yet"
    assert _scores(view, Viewer("ops")) == {"client": 2}
    assert "not revealed yet" in await _refused(h, "answer_rating", AnswerRating(actor=expert, reply="Unfair"))

    view = await h.update("rate", RateParty(actor=expert, score=5))
    view = await h.until(lambda v: v.ratings_revealed)
    assert _scores(view, client_sees) == _scores(view, expert_sees) == {"client": 2, "expert": 5}

    rated = [e for e in h.timeline() if e.kind == "rated"]
    assert [e.summary for e in rated] == ["client rated", "expert rated"], "the timeline tells no score"
    [closed] = [e for e in h.timeline() if e.kind == "feedback_closed"]
    assert closed.summary == "ratings revealed: client rated 2/5, expert rated 5/5"

    view = await h.update("answer_rating", AnswerRating(actor=expert, reply="Two changes of scope, both signed"))
    assert [(r.by, r.reply) for r in view.ratings] == [("client", "Two changes of scope, both signed"), ("expert", "")]
    assert "answered already" in await _refused(
        h, "answer_rating", AnswerRating(actor=expert, reply="And another thing")
    )
    assert "only a member of the client organisation" in await _refused(
        h, "answer_rating", AnswerRating(actor=h.outsider, reply="Hello")
    )
    assert [e.summary for e in h.timeline() if e.kind == "rating_answered"] == [
        "the expert answered the client's rating"
    ]

    await flows.pay(h, 1)
    closed_view = await h.until(lambda v: v.stage is Stage.CLOSED)
    assert closed_view.ratings[1].replied_at is None, "closed, the mission still takes the client's answer"
    view = await h.update("answer_rating", AnswerRating(actor=h.client_actor, reply="Fair point"))
    assert view.ratings[1].reply == "Fair point"
    result = await h.handle.result()  # every rating answered: the workflow ends
    assert [r.reply for r in result.ratings] == ["Two changes of scope, both signed", "Fair point"]


async def test_the_window_closing_reveals_a_single_rating(ts: Harness) -> None:
    h = ts
    view = await _to_feedback(h)
    assert view.selected_expert_id is not None
    await flows.pay(h, 1)
    await h.update("rate", RateParty(actor=h.expert(view.selected_expert_id), score=3))
    assert _scores(await h.state(), Viewer("client", organisation_id=h.org_id)) == {}

    await h.skip(timedelta(days=14, hours=1))
    view = await h.until(lambda v: v.stage is Stage.CLOSED)
    assert view.ratings_revealed
    assert _scores(view, Viewer("client", organisation_id=h.org_id)) == {"expert": 3}
    await h.update("answer_rating", AnswerRating(actor=h.client_actor, reply="We paid on time"))
    result = await h.handle.result()
    assert result.ratings[0].reply == "We paid on time"
