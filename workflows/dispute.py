"""DisputeWorkflow (id `mission:{id}:dispute:{n}`): a child of MissionWorkflow, one per dispute.

Opened by either party (the mission's update `open_dispute` starts it) on a milestone or the whole mission, with a
statement and evidence. The other party answers before a deadline (reminder before it; past it, mediation starts
without the answer, and both parties are told). Ops mediate in the mission's message thread and decide: continue,
partial acceptance of the milestone (an amount), redo with a new deadline, or end the mission. The decision is the
workflow's result; the mission carries out its consequences (workflows/mission_disputes.py). The mission holds its
milestones while the dispute runs. Changing this code: see "Changing a workflow" in the README (the replay gate).
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from temporalio import workflow

from workflows.deadlines import Deadlines
from workflows.readmodel import Party, ReadModel, ops_audited

with workflow.unsafe.imports_passed_through():
    from domain.actors import Actor, Role
    from domain.dispute import (
        AnswerDispute,
        DecideDispute,
        Decision,
        DisputeStage,
        DisputeView,
        StartDispute,
        Statement,
        check_decision,
    )
    from domain.mission import Deadline, PendingAction, is_client_member, is_expert, is_ops

DS = DisputeStage
MOVES: dict[DisputeStage, frozenset[DisputeStage]] = {
    DS.AWAITING_ANSWER: frozenset({DS.MEDIATION, DS.CANCELLED}),
    DS.MEDIATION: frozenset({DS.DECIDED, DS.CANCELLED}),
    DS.DECIDED: frozenset(),
    DS.CANCELLED: frozenset(),
}


@workflow.defn(name="DisputeWorkflow")
class DisputeWorkflow:
    @workflow.init
    def __init__(self, inp: StartDispute) -> None:
        self.inp = inp
        self.view = DisputeView(
            workflow_id=workflow.info().workflow_id,
            mission_id=inp.mission_id,
            number=inp.number,
            stage=DS.AWAITING_ANSWER,
            client_org_id=inp.client_org_id,
            expert_id=inp.expert_id,
            milestone_number=inp.milestone_number,
            milestone_amount=inp.milestone_amount,
            milestone_accepted=inp.milestone_accepted,
            milestone_paid=inp.milestone_paid,
            opened=inp.opened,
        )
        self.readmodel = ReadModel(self.view.workflow_id, inp.mission_id, self.view)
        self.deadlines = Deadlines(self.view, inp.policy, self.readmodel, suspended=lambda: False, expired=self._late)

    @workflow.run
    async def run(self, inp: StartDispute) -> Decision:
        try:
            decision = await self._lifecycle()
        except asyncio.CancelledError:
            # the mission was cancelled while the dispute ran: close its tasks
            self.view.deadlines.clear()
            await asyncio.shield(self._transition(DS.CANCELLED, "mission stopped", close_tasks=["*"]))
            raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self.readmodel.notices_delivered()
        return decision

    async def _lifecycle(self) -> Decision:
        about = f"milestone {self.inp.milestone_number}" if self.inp.milestone_number else "the mission"
        d = self.deadlines.add("answer", "dispute_answer", span=self.inp.policy.dispute_answer)
        answering = self.view.answering
        task = PendingAction(
            key="answer",
            role=Role.CLIENT if answering == "client" else Role.EXPERT,
            party_id=self.inp.client_org_id if answering == "client" else self.inp.expert_id,
            action="answer_dispute",
            title=f"Answer the dispute the {self.view.opened.party} opened on {about}",
            due=d.due,
            deadline=d.key,
        )
        details = {"by": self.view.opened.party, "about": about, "evidence": str(len(self.view.opened.evidence))}
        await self.readmodel.event("dispute_opened", self.view.opened.text[:300], open_tasks=[task], details=details)
        for party, party_id in self._parties():
            await self.readmodel.notify(f"dispute_opened:{party}", party, party_id, "dispute_opened", {"about": about})
        await self.deadlines.wait(lambda: self.view.stage is not DS.AWAITING_ANSWER)
        await workflow.wait_condition(lambda: self.view.decision is not None)
        assert self.view.decision is not None
        return self.view.decision

    def _parties(self) -> list[tuple[Party, UUID]]:
        return [("client", self.inp.client_org_id), ("expert", self.inp.expert_id)]

    async def _late(self, deadline: Deadline) -> None:
        """No answer in time: mediation starts without it; both parties are told."""
        await self._mediation(f"no answer from the {self.view.answering} in time", close_tasks=["answer"])
        for party, party_id in self._parties():
            await self.readmodel.notify(f"dispute_unanswered:{party}", party, party_id, "dispute_unanswered")

    async def _mediation(self, reason: str, *, actor: Actor | None = None, **event: Any) -> None:
        self.deadlines.drop("answer")
        decide = PendingAction(
            key="decide", role=Role.OPS, party_id=None, action="decide_dispute", title="Mediate and decide the dispute"
        )
        await self._transition(DS.MEDIATION, reason, actor=actor, open_tasks=[decide], **event)

    async def _transition(self, to: DisputeStage, reason: str, *, actor: Actor | None = None, **event: Any) -> None:
        frm = self.view.stage
        if to not in MOVES[frm]:
            raise RuntimeError(f"dispute: {frm} -> {to} not allowed")
        self.view.stage = to
        details = {"from": frm.value, "dispute": str(self.inp.number), **event.pop("details", {})}
        await self.readmodel.event(f"dispute:{to.value}", reason, actor=actor, details=details, **event)

    # --- queries and updates -------------------------------------------------------------------------------

    @workflow.query
    def state(self) -> DisputeView:
        return self.view

    @workflow.update
    @ops_audited
    async def answer_dispute(self, cmd: AnswerDispute) -> DisputeView:
        party = self.view.answering
        self.view.answer = Statement(
            party=party, user_id=cmd.actor.user_id, text=cmd.statement, evidence=cmd.evidence, at=workflow.now()
        )
        details = {"evidence": str(len(cmd.evidence))}
        await self._mediation(f"answered by the {party}", actor=cmd.actor, close_tasks=["answer"], details=details)
        return self.view

    @answer_dispute.validator
    def _v_answer_dispute(self, cmd: AnswerDispute) -> None:
        if self.view.answering == "client":
            if not is_client_member(cmd.actor, self.inp.client_org_id):
                raise ValueError("only a member of the client organisation may answer this dispute")
        elif not is_expert(cmd.actor, self.inp.expert_id):
            raise ValueError("only the mission's expert may answer this dispute")
        if self.view.stage is not DS.AWAITING_ANSWER:
            raise ValueError(f"the dispute is {self.view.stage.value}: the time to answer is over")

    @workflow.update
    @ops_audited
    async def decide_dispute(self, cmd: DecideDispute) -> DisputeView:
        self.view.decision = Decision(
            outcome=cmd.outcome,
            reason=cmd.reason,
            amount=cmd.amount,
            new_due=cmd.new_due,
            actor=cmd.actor,
            at=workflow.now(),
        )
        details = {"outcome": cmd.outcome} | ({"amount": str(cmd.amount)} if cmd.amount is not None else {})
        await self._transition(
            DS.DECIDED, cmd.reason, actor=cmd.actor, close_tasks=["*"], details=details, outcome=cmd.outcome
        )
        for party, party_id in self._parties():
            params: dict[str, str] = {"outcome": cmd.outcome}
            await self.readmodel.notify(f"dispute_decided:{party}", party, party_id, "dispute_decided", params)
        return self.view

    @decide_dispute.validator
    def _v_decide_dispute(self, cmd: DecideDispute) -> None:
        if not is_ops(cmd.actor):
            raise ValueError("only ops may decide a dispute")
        check_decision(self.view, cmd, workflow.now())
