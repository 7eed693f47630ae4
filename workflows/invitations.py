"""`Invitations`: who is invited to a mission and how their answers move it, held by `Mission`
(workflows/mission_process.py) beside its deadlines. An invitation opens a task for the expert with its deadline;
an answer, an expiry or a withdrawal closes it; declines and silences are backfilled from the matching reserve
until the policy's number of experts accepted or are pending; ops can swap one expert for another.
"""

from __future__ import annotations

from uuid import UUID

from temporalio import workflow

from workflows import mission_rules as rules
from workflows import mission_steps as steps
from workflows.deadlines import Deadlines
from workflows.readmodel import ReadModel

with workflow.unsafe.imports_passed_through():
    from domain.mission import AnswerInvitation, Deadline, Invitation, MissionView, ReassignExpert
    from domain.policy import Policy
    from domain.stages import Stage


class Invitations:
    def __init__(self, view: MissionView, policy: Policy, readmodel: ReadModel, deadlines: Deadlines) -> None:
        self._view = view
        self._policy = policy
        self._readmodel = readmodel
        self._deadlines = deadlines

    async def invite(self, expert_id: UUID) -> None:
        self._view.invitations.append(Invitation(expert_id=expert_id, invited_at=workflow.now()))
        d = self._deadlines.add(f"invitation:{expert_id}", "invitation", span=self._policy.invitation_answer)
        answer = steps.expert_task(
            expert_id, f"invitation:{expert_id}", "answer_invitation", "Answer the invitation", d
        )
        await self._readmodel.event("expert_invited", str(expert_id), open_tasks=[answer])  # the task tells the expert

    async def backfill(self) -> None:
        """Invite from the reserve until enough experts accepted or are pending."""
        view = self._view
        while view.reserve and rules.accepted_or_pending(view) < self._policy.target_accepted:
            candidate = view.reserve.pop(0)
            if candidate.expert_id not in [*view.expert_ids(), *view.removed_expert_ids]:
                await self.invite(candidate.expert_id)

    async def answer(self, cmd: AnswerInvitation, *, accepted: bool) -> None:
        assert cmd.actor.expert_id is not None
        inv = rules.invitation(self._view, cmd.actor.expert_id)
        assert inv is not None
        inv.status, inv.answered_at = ("accepted" if accepted else "declined"), workflow.now()
        self._deadlines.drop(f"invitation:{inv.expert_id}")
        await self._readmodel.event(
            f"invitation_{inv.status}",
            cmd.reason,
            actor=cmd.actor,
            close_tasks=[f"invitation:{inv.expert_id}"],
            outcome=inv.status,
        )
        if not accepted:
            await self.backfill()

    async def expired(self, deadline: Deadline) -> None:
        """The invitation's deadline passed: the expert is told, the next one in reserve is invited."""
        expert_id = UUID(deadline.key.split(":", 1)[1])
        inv = rules.invitation(self._view, expert_id)
        if inv is None or inv.status != "pending":
            return
        inv.status = "expired"
        closing = [f"invitation:{expert_id}"]
        await self._readmodel.event("invitation_expired", "no answer in time", close_tasks=closing, outcome="expired")
        await self._readmodel.notify(f"invitation_expired:{expert_id}", "expert", expert_id, "invitation_expired")
        await self.backfill()

    async def withdraw_pending(self, reason: str) -> None:
        for inv in self._view.invitations:
            if inv.status == "pending":
                inv.status = "withdrawn"
                self._deadlines.drop(f"invitation:{inv.expert_id}")
                closing = [f"invitation:{inv.expert_id}"]
                await self._readmodel.event("invitation_withdrawn", reason, close_tasks=closing)

    async def reassign(self, cmd: ReassignExpert) -> None:
        """Ops swap one expert for another: during the proposal round, an expert who had accepted is replaced by
        one who joins the round directly; before, the new expert is invited."""
        view = self._view
        old = rules.invitation(view, cmd.from_expert_id)
        assert old is not None
        was_accepted, old.status = old.status == "accepted", "withdrawn"
        self._deadlines.drop(f"invitation:{cmd.from_expert_id}")
        r = view.proposal_round
        await self._readmodel.event(
            "expert_reassigned",
            cmd.reason,
            actor=cmd.actor,
            close_tasks=[f"invitation:{cmd.from_expert_id}", f"proposal:{r}:{cmd.from_expert_id}"],
            details={"from": str(cmd.from_expert_id), "to": str(cmd.to_expert_id)},
            outcome="reassigned by ops",
        )
        if view.stage is Stage.PROPOSALS and was_accepted:
            now, d = workflow.now(), self._deadlines.get(f"proposals:{r}")
            assert d is not None
            view.invitations.append(
                Invitation(expert_id=cmd.to_expert_id, status="accepted", invited_at=now, answered_at=now)
            )
            task = steps.proposal_task(cmd.to_expert_id, r, d)
            await self._readmodel.event("expert_joined", str(cmd.to_expert_id), open_tasks=[task])
        else:
            await self.invite(cmd.to_expert_id)
