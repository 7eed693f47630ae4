"""The human actions on a mission: MissionWorkflow's updates, each with its validator.

A validator says no (wrong stage, wrong person, past deadline, invalid payload) before anything enters the
history; the rules live in `workflows.mission_rules`. Each update takes one command with its `actor` and returns
the new `MissionView`. Kept apart from workflows/mission.py so each file reads on its own; the stage changes
still go through MissionWorkflow._transition.
"""

from __future__ import annotations

from uuid import UUID

from temporalio import workflow

from workflows._lifecycle import Lifecycle, ops_audited

with workflow.unsafe.imports_passed_through():
    from activities.projection import RatingRecord
    from domain.actors import Actor, Role
    from domain.mission import (
        AnswerInvitation,
        CancelMission,
        EditShortlist,
        ExtendDeadline,
        Invitation,
        MissionView,
        OpenDispute,
        PauseMission,
        PendingAction,
        Proposal,
        QualifyNeed,
        RateParty,
        ReassignExpert,
        RequestNewRound,
        ResolveDispute,
        ResumeMission,
        ReviseNeed,
        SelectProposal,
        SignContract,
        StartInvitations,
        StartMission,
        SubmitProposal,
        WithdrawProposal,
        proposal_total,
    )
    from domain.stages import TERMINAL, Stage
    from workflows import mission_rules as rules


class MissionUpdates(Lifecycle):
    """Mixin of MissionWorkflow holding its update handlers (Temporal collects inherited handlers)."""

    inp: StartMission
    view: MissionView
    _stop: tuple[Stage, str, Actor | None] | None
    _new_round: bool

    async def _transition(
        self,
        to: Stage,
        reason: str,
        *,
        actor: Actor | None = None,
        open_tasks: list[PendingAction] | None = None,
        close_tasks: list[str] | None = None,
        details: dict[str, str] | None = None,
        outcome: str | None = None,
    ) -> None:
        raise NotImplementedError

    async def _invite(self, expert_id: UUID) -> None:
        raise NotImplementedError

    async def _backfill(self) -> None:
        raise NotImplementedError

    async def _hold_children(self) -> None:
        raise NotImplementedError

    # --- updates: client ------------------------------------------------------------------------------

    @workflow.update
    @ops_audited
    async def revise_need(self, cmd: ReviseNeed) -> MissionView:
        self.view.need = cmd.need
        await self._transition(
            Stage.QUALIFICATION,
            "need revised",
            actor=cmd.actor,
            close_tasks=["need_details"],
            open_tasks=[rules.qualify_task()],
        )
        return self.view

    @revise_need.validator
    def _v_revise_need(self, cmd: ReviseNeed) -> None:
        rules.check_revise_need(self.view, cmd)

    @workflow.update
    @ops_audited
    async def edit_shortlist(self, cmd: EditShortlist) -> MissionView:
        removed = set(cmd.remove_expert_ids)
        self.view.removed_expert_ids += [c.expert_id for c in self.view.shortlist if c.expert_id in removed]
        self.view.shortlist = [c for c in self.view.shortlist if c.expert_id not in removed]
        await self._project("shortlist_edited", f"{len(removed)} removed", actor=cmd.actor)
        return self.view

    @edit_shortlist.validator
    def _v_edit_shortlist(self, cmd: EditShortlist) -> None:
        rules.check_edit_shortlist(self.view, cmd)

    @workflow.update
    @ops_audited
    async def start_invitations(self, cmd: StartInvitations) -> MissionView:
        await self._transition(
            Stage.INVITATIONS, "client starts invitations", actor=cmd.actor, close_tasks=["review_shortlist"]
        )
        return self.view

    @start_invitations.validator
    def _v_start_invitations(self, cmd: StartInvitations) -> None:
        rules.check_start_invitations(self.view, cmd)

    @workflow.update
    @ops_audited
    async def select_proposal(self, cmd: SelectProposal) -> MissionView:
        for p in self.view.proposals:
            if p.round == self.view.proposal_round and p.expert_id == cmd.expert_id and p.status == "submitted":
                p.status = "selected"
        self.view.selected_expert_id = cmd.expert_id
        await self._transition(
            Stage.CONTRACT,
            "proposal selected",
            actor=cmd.actor,
            close_tasks=["select_proposal", f"escalation:selection:{self.view.proposal_round}"],
            details={"expert_id": str(cmd.expert_id)},
        )
        return self.view

    @select_proposal.validator
    def _v_select_proposal(self, cmd: SelectProposal) -> None:
        rules.check_select_proposal(self.view, cmd)

    @workflow.update
    @ops_audited
    async def request_new_round(self, cmd: RequestNewRound) -> MissionView:
        self._new_round = True
        await self._project(
            "new_round_requested",
            cmd.reason,
            actor=cmd.actor,
            close_tasks=["select_proposal", f"escalation:selection:{self.view.proposal_round}"],
        )
        return self.view

    @request_new_round.validator
    def _v_request_new_round(self, cmd: RequestNewRound) -> None:
        rules.check_request_new_round(self.view, cmd, self._new_round)

    @workflow.update
    @ops_audited
    async def rate(self, cmd: RateParty) -> MissionView:
        by: str = "client" if cmd.actor.role is Role.CLIENT else "expert"
        rating = rules.new_rating(by, cmd, workflow.now())
        self.view.ratings.append(rating)
        assert self.view.selected_expert_id is not None
        record = RatingRecord(
            mission_id=self.inp.mission_id,
            by=rating.by,
            expert_id=self.view.selected_expert_id,
            client_org_id=self.inp.client_org_id,
            score=cmd.score,
            comment=cmd.comment,
            at=rating.at,
        )
        await self._project(
            "rated", f"{by} rated {cmd.score}/5", actor=cmd.actor, close_tasks=[f"rate:{by}"], rating=record
        )
        return self.view

    @rate.validator
    def _v_rate(self, cmd: RateParty) -> None:
        rules.check_rate(self.view, cmd, workflow.now())

    # --- updates: expert --------------------------------------------------------------------------------

    @workflow.update
    @ops_audited
    async def accept_invitation(self, cmd: AnswerInvitation) -> MissionView:
        return await self._answer(cmd, accepted=True)

    @accept_invitation.validator
    def _v_accept_invitation(self, cmd: AnswerInvitation) -> None:
        rules.check_answer_invitation(self.view, cmd, workflow.now())

    @workflow.update
    @ops_audited
    async def decline_invitation(self, cmd: AnswerInvitation) -> MissionView:
        return await self._answer(cmd, accepted=False)

    @decline_invitation.validator
    def _v_decline_invitation(self, cmd: AnswerInvitation) -> None:
        rules.check_answer_invitation(self.view, cmd, workflow.now())

    async def _answer(self, cmd: AnswerInvitation, *, accepted: bool) -> MissionView:
        assert cmd.actor.expert_id is not None
        inv = rules.invitation(self.view, cmd.actor.expert_id)
        assert inv is not None
        inv.status = "accepted" if accepted else "declined"
        inv.answered_at = workflow.now()
        self._drop_deadline(f"invitation:{inv.expert_id}")
        await self._project(
            "invitation_accepted" if accepted else "invitation_declined",
            cmd.reason,
            actor=cmd.actor,
            close_tasks=[f"invitation:{inv.expert_id}"],
            outcome=inv.status,
        )
        if not accepted:
            await self._backfill()
        return self.view

    @workflow.update
    @ops_audited
    async def submit_proposal(self, cmd: SubmitProposal) -> MissionView:
        assert cmd.actor.expert_id is not None
        r = self.view.proposal_round
        self.view.proposals = [
            p for p in self.view.proposals if not (p.round == r and p.expert_id == cmd.actor.expert_id)
        ]
        self.view.proposals.append(
            Proposal(
                expert_id=cmd.actor.expert_id,
                round=r,
                terms=cmd.terms,
                total=proposal_total(cmd.terms),
                submitted_at=workflow.now(),
            )
        )
        await self._project(
            "proposal_submitted",
            f"{proposal_total(cmd.terms).amount} {cmd.terms.currency}",
            actor=cmd.actor,
            close_tasks=[f"proposal:{r}:{cmd.actor.expert_id}"],
        )
        return self.view

    @submit_proposal.validator
    def _v_submit_proposal(self, cmd: SubmitProposal) -> None:
        rules.check_submit_proposal(self.view, cmd, workflow.now())

    @workflow.update
    @ops_audited
    async def withdraw_proposal(self, cmd: WithdrawProposal) -> MissionView:
        r = self.view.proposal_round
        for p in self.view.proposals:
            if p.round == r and p.expert_id == cmd.actor.expert_id:
                p.status = "withdrawn"
        await self._project(
            "proposal_withdrawn", cmd.reason, actor=cmd.actor, close_tasks=[f"proposal:{r}:{cmd.actor.expert_id}"]
        )
        return self.view

    @withdraw_proposal.validator
    def _v_withdraw_proposal(self, cmd: WithdrawProposal) -> None:
        rules.check_withdraw_proposal(self.view, cmd)

    # --- updates: both parties -----------------------------------------------------------------------------

    @workflow.update
    @ops_audited
    async def sign_contract(self, cmd: SignContract) -> MissionView:
        contract = self.view.contract
        assert contract is not None
        party = rules.signing_party(cmd.actor)
        contract.signatures.append(rules.new_signature(party, cmd, workflow.now()))
        await workflow.wait_condition(
            lambda: all(s.recorded for s in contract.signatures) or self.view.stage is not Stage.CONTRACT
        )
        return self.view

    @sign_contract.validator
    def _v_sign_contract(self, cmd: SignContract) -> None:
        rules.check_sign_contract(self.view, cmd, workflow.now())

    @workflow.update
    @ops_audited
    async def cancel(self, cmd: CancelMission) -> MissionView:
        self._stop = (Stage.CANCELLED, cmd.reason, cmd.actor)
        await workflow.wait_condition(lambda: self.view.stage in TERMINAL)
        return self.view

    @cancel.validator
    def _v_cancel(self, cmd: CancelMission) -> None:
        rules.check_cancel(self.view, cmd, self._stop is not None)

    @workflow.update
    @ops_audited
    async def open_dispute(self, cmd: OpenDispute) -> MissionView:
        self.view.dispute_reason = cmd.reason
        task = PendingAction(
            key="dispute", role=Role.OPS, party_id=None, action="resolve_dispute", title=cmd.reason[:300]
        )
        await self._transition(Stage.DISPUTED, cmd.reason, actor=cmd.actor, open_tasks=[task])
        await self._hold_children()
        return self.view

    @open_dispute.validator
    def _v_open_dispute(self, cmd: OpenDispute) -> None:
        rules.check_open_dispute(self.view, cmd)

    # --- updates: ops -----------------------------------------------------------------------------------

    @workflow.update
    @ops_audited
    async def qualify_need(self, cmd: QualifyNeed) -> MissionView:
        if cmd.decision == "approve":
            await self._transition(Stage.SHORTLIST, "need approved", actor=cmd.actor, close_tasks=["qualify"])
        elif cmd.decision == "ask_details":
            await self._transition(
                Stage.NEED,
                cmd.reason,
                actor=cmd.actor,
                close_tasks=["qualify"],
                open_tasks=[rules.client_task(self.view, "need_details", f"Ops ask for details: {cmd.reason}")],
            )
        else:
            self._stop = (Stage.CANCELLED, f"rejected by ops: {cmd.reason}", cmd.actor)
            await workflow.wait_condition(lambda: self.view.stage in TERMINAL)
        return self.view

    @qualify_need.validator
    def _v_qualify_need(self, cmd: QualifyNeed) -> None:
        rules.check_qualify(self.view, cmd)

    @workflow.update
    @ops_audited
    async def pause(self, cmd: PauseMission) -> MissionView:
        self.view.paused = True
        self.view.paused_reason = cmd.reason
        self._sync_suspension()
        await self._project("paused", cmd.reason, actor=cmd.actor)
        await self._hold_children()
        return self.view

    @pause.validator
    def _v_pause(self, cmd: PauseMission) -> None:
        rules.check_pause(self.view, cmd)

    @workflow.update
    @ops_audited
    async def resume(self, cmd: ResumeMission) -> MissionView:
        if self.view.paused:
            self.view.paused = False
            self.view.paused_reason = None
            self._sync_suspension()
            await self._project("resumed", cmd.reason, actor=cmd.actor)
            await self._hold_children()
        if self.view.stage is Stage.NEEDS_ATTENTION:
            self._resume_requested = True
            await workflow.wait_condition(lambda: self.view.stage is not Stage.NEEDS_ATTENTION)
        return self.view

    @resume.validator
    def _v_resume(self, cmd: ResumeMission) -> None:
        rules.check_resume(self.view, cmd)

    @workflow.update
    @ops_audited
    async def extend_deadline(self, cmd: ExtendDeadline) -> MissionView:
        d = self._deadline(cmd.key)
        assert d is not None
        rules.extend(d, cmd.new_due, self.inp.policy, workflow.now())
        reopened = []
        for a in self.view.pending_actions:
            if a.deadline == d.key:
                a.due = d.due
                reopened.append(a)
        await self._project(
            "deadline_extended",
            f"{d.key} until {d.due.isoformat()}",
            actor=cmd.actor,
            open_tasks=reopened,
            close_tasks=[f"escalation:{d.key}"],
            outcome="deadline extended",
        )
        return self.view

    @extend_deadline.validator
    def _v_extend_deadline(self, cmd: ExtendDeadline) -> None:
        rules.check_extend(self.view, cmd, workflow.now())

    @workflow.update
    @ops_audited
    async def reassign_expert(self, cmd: ReassignExpert) -> MissionView:
        old = rules.invitation(self.view, cmd.from_expert_id)
        assert old is not None
        was_accepted = old.status == "accepted"
        old.status = "withdrawn"
        self._drop_deadline(f"invitation:{cmd.from_expert_id}")
        r = self.view.proposal_round
        await self._project(
            "expert_reassigned",
            cmd.reason,
            actor=cmd.actor,
            close_tasks=[f"invitation:{cmd.from_expert_id}", f"proposal:{r}:{cmd.from_expert_id}"],
            details={"from": str(cmd.from_expert_id), "to": str(cmd.to_expert_id)},
            outcome="reassigned by ops",
        )
        if self.view.stage is Stage.PROPOSALS and was_accepted:
            # arranged by ops: the new expert joins the open proposal round directly
            now = workflow.now()
            self.view.invitations.append(
                Invitation(expert_id=cmd.to_expert_id, status="accepted", invited_at=now, answered_at=now)
            )
            d = self._deadline(f"proposals:{r}")
            assert d is not None
            await self._project(
                "expert_joined", str(cmd.to_expert_id), open_tasks=[rules.proposal_task(cmd.to_expert_id, r, d)]
            )
        else:
            await self._invite(cmd.to_expert_id)
        return self.view

    @reassign_expert.validator
    def _v_reassign_expert(self, cmd: ReassignExpert) -> None:
        rules.check_reassign(self.view, cmd)

    @workflow.update
    @ops_audited
    async def resolve_dispute(self, cmd: ResolveDispute) -> MissionView:
        if cmd.outcome == "continue":
            back = self.view.resume_stage or Stage.NEED
            self.view.dispute_reason = None
            await self._transition(
                back, f"dispute resolved: {cmd.reason}", actor=cmd.actor, close_tasks=["dispute"], outcome="resolved"
            )
            await self._hold_children()
        else:
            to = Stage.CANCELLED if cmd.outcome == "cancel" else Stage.CLOSED
            self._stop = (to, f"dispute resolved: {cmd.reason}", cmd.actor)
            await workflow.wait_condition(lambda: self.view.stage in TERMINAL)
        return self.view

    @resolve_dispute.validator
    def _v_resolve_dispute(self, cmd: ResolveDispute) -> None:
        rules.check_resolve_dispute(self.view, cmd)
