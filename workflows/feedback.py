"""`Feedback`: the mission's last stage, held by `Mission` (workflows/mission_process.py). Both parties rate each
other within the feedback window; the ratings are double-blind (neither party sees the other's) until both rated or
the window closed, then they are revealed and count in the reputations; each rated party may answer its rating
once, publicly, until `replies_until` (the mission is closed meanwhile). Changing this code: see the README.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import workflow

from workflows import mission_rules as rules
from workflows import mission_steps as steps

with workflow.unsafe.imports_passed_through():
    from activities.projection import RatingRecord, RatingReply, RatingsRevealed
    from domain.mission import AnswerRating, RateParty

if TYPE_CHECKING:
    from workflows.mission_process import Mission


class Feedback:
    def __init__(self, mission: Mission) -> None:
        self._m = mission
        self.window_closed = False  # the feedback deadline passed (Mission._on_expired)

    async def run(self) -> None:
        m = self._m
        view = m.view
        d = m.deadlines.add("feedback", "feedback", span=m.inp.policy.feedback)
        rate = [
            steps.client_task(view, "rate:client", "Rate the expert", d, action="rate_expert"),
            steps.expert_task(view.selected_expert_id, "rate:expert", "rate_client", "Rate the client", d),
        ]
        await m.readmodel.event("feedback_opened", "rate each other", open_tasks=rate)
        await m.deadlines.wait(lambda: self.window_closed or len(view.ratings) == 2)
        m.deadlines.drop("feedback")
        # double-blind until now: both rated, or the window closed; the ratings go public and count in reputations
        now = workflow.now()
        view.ratings_revealed, view.replies_until = True, now + m.inp.policy.feedback
        assert view.selected_expert_id is not None
        reveal = RatingsRevealed(mission_id=view.mission_id, expert_id=view.selected_expert_id,
                                 client_org_id=view.client_org_id, at=now)  # fmt: skip
        await m.readmodel.event(
            "feedback_closed",
            rules.ratings_summary(view.ratings),
            close_tasks=["rate:client", "rate:expert"],
            outcome="window closed",
            reveal=reveal,
        )

    async def rate(self, cmd: RateParty) -> None:
        view = self._m.view
        rating = steps.new_rating(cmd, workflow.now())
        view.ratings.append(rating)
        assert view.selected_expert_id is not None
        record = RatingRecord(
            mission_id=view.mission_id,
            by=rating.by,
            expert_id=view.selected_expert_id,
            client_org_id=view.client_org_id,
            score=cmd.score,
            comment=cmd.comment,
            at=rating.at,
        )
        await self._m.readmodel.event(
            "rated",
            f"{rating.by} rated",  # double-blind: the score shows when the ratings are revealed
            actor=cmd.actor,
            close_tasks=[f"rate:{rating.by}"],
            rating=record,
        )

    async def answer(self, cmd: AnswerRating) -> None:
        """The rated party answers the rating they received, once, publicly (the ratings are revealed)."""
        view = self._m.view
        rating = rules.rating_received(view, cmd.actor)
        now = workflow.now()
        rating.reply, rating.replied_at = cmd.reply, now
        reply = RatingReply(mission_id=view.mission_id, by=rating.by, reply=cmd.reply, at=now)
        answering = "expert" if rating.by == "client" else "client"
        await self._m.readmodel.event("rating_answered", f"the {answering} answered the {rating.by}'s rating",
                                      actor=cmd.actor, reply=reply)  # fmt: skip

    async def answers(self) -> None:
        """Closed, the mission still takes each rated party's public answer to their rating, until every rating
        given is answered or `replies_until` passes (update `answer_rating`)."""
        view = self._m.view
        until = view.replies_until
        if until is None or all(r.replied_at is not None for r in view.ratings):
            return
        with suppress(asyncio.TimeoutError):
            await workflow.wait_condition(
                lambda: all(r.replied_at is not None for r in view.ratings),
                timeout=max(until - workflow.now(), timedelta(seconds=1)),
            )
