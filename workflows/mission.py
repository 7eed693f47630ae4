"""MissionWorkflow (id `mission:{id}`): one per need, from qualification to feedback, for weeks or months.

The workflow holds a `Mission` (workflows/mission_process.py: its state, the stages it goes through on its own and
the one door every stage change goes through) and adds what people can do: the updates below, each with its
validator, which says no (wrong stage, wrong person, past deadline, invalid payload) before anything enters the
history; the rules are in `workflows.mission_rules`. Each update takes one command with its `actor` and returns the
new `MissionView` once the read model shows the change. Accepted ops actions are audited by the workflow
(`ops_audited`).
"""

from __future__ import annotations

from temporalio import workflow

from workflows import mission_rules as rules
from workflows import mission_steps as steps
from workflows.mission_process import Mission
from workflows.readmodel import ops_audited

with workflow.unsafe.imports_passed_through():
    from domain.mission import (
        AnswerInvitation,
        AnswerRating,
        ApproveBudget,
        CancelMission,
        EditShortlist,
        ExtendDeadline,
        InviteExpert,
        MilestoneView,
        MissionView,
        OpenDispute,
        PauseMission,
        Proposal,
        QualifyNeed,
        RateParty,
        ReassignExpert,
        RejectBudget,
        RequestNewRound,
        ResumeMission,
        ReviseNeed,
        SelectProposal,
        SignContract,
        StartInvitations,
        StartMission,
        SubmitProposal,
        WithdrawProposal,
    )
    from domain.shortlist import client_pick
    from domain.stages import Stage
    from domain.terms import proposal_total


@workflow.defn(name="MissionWorkflow")
class MissionWorkflow:
    @workflow.init
    def __init__(self, inp: StartMission) -> None:
        self.mission = Mission(inp)
        self.view = self.mission.view
        self.readmodel = self.mission.readmodel
        self.deadlines = self.mission.deadlines

    @workflow.run
    async def run(self, inp: StartMission) -> MissionView:
        view = await self.mission.run()
        await self.readmodel.notices_delivered()
        return view

    @workflow.query
    def state(self) -> MissionView:
        return self.view

    @workflow.update
    async def opened(self) -> MissionView:
        """Sent with the start (update-with-start, workflows.client.open_mission): answered once the need is in the
        read model, so the mission is on its creator's page when the API answers."""
        await workflow.wait_condition(lambda: self.mission.recorded)
        return self.view

    @workflow.signal
    def milestone_changed(self, milestone: MilestoneView) -> None:
        """A milestone was accepted, invoiced or ended (workflows/milestone.py). The credit note that cancelled its
        invoice is the mission's (workflows/mission_process.py): kept."""
        self.view.milestones = [
            milestone.model_copy(update={"credit_note": m.credit_note or milestone.credit_note})
            if m.number == milestone.number
            else m
            for m in self.view.milestones
        ]

    # --- the human actions ---------------------------------------------------------------------------------

    @workflow.update
    @ops_audited
    async def revise_need(self, cmd: ReviseNeed) -> MissionView:
        await self.mission.need.revise(cmd)
        return self.view

    @revise_need.validator
    def _v_revise_need(self, cmd: ReviseNeed) -> None:
        rules.check_revise_need(self.view, cmd)

    @workflow.update
    async def approve_budget(self, cmd: ApproveBudget) -> MissionView:
        await self.mission.need.approve(cmd)
        return self.view

    @approve_budget.validator
    def _v_approve_budget(self, cmd: ApproveBudget) -> None:
        rules.check_budget_decision(self.view, cmd)

    @workflow.update
    async def reject_budget(self, cmd: RejectBudget) -> MissionView:
        await self.mission.need.reject(cmd)
        return self.view
        self.deadlines.drop("approval")
        revise = steps.client_task(self.view, "revise_budget", f"Budget not approved: {cmd.reason}"[:300])
        await self.mission.transition(
            Stage.NEED,
            f"budget rejected: {cmd.reason}",
            actor=cmd.actor,
            close_tasks=["approve_budget", "escalation:approval"],
            open_tasks=[revise],
            outcome="rejected",
        )
        return self.view

    @reject_budget.validator
    def _v_reject_budget(self, cmd: RejectBudget) -> None:
        rules.check_budget_decision(self.view, cmd)

    @workflow.update
    @ops_audited
    async def qualify_need(self, cmd: QualifyNeed) -> MissionView:
        await self.mission.need.qualify(cmd)
        return self.view

    @qualify_need.validator
    def _v_qualify_need(self, cmd: QualifyNeed) -> None:
        rules.check_qualify(self.view, cmd)

    @workflow.update
    @ops_audited
    async def edit_shortlist(self, cmd: EditShortlist) -> MissionView:
        removed = set(cmd.remove_expert_ids)
        self.view.removed_expert_ids += [c.expert_id for c in self.view.shortlist if c.expert_id in removed]
        self.view.shortlist = [c for c in self.view.shortlist if c.expert_id not in removed]
        await self.readmodel.event("shortlist_edited", f"{len(removed)} removed", actor=cmd.actor)
        return self.view

    @edit_shortlist.validator
    def _v_edit_shortlist(self, cmd: EditShortlist) -> None:
        rules.check_edit_shortlist(self.view, cmd)

    @workflow.update
    async def invite_expert(self, cmd: InviteExpert) -> MissionView:
        """A client pick: the expert joins the shortlist, explained as the client's choice, and is invited with it."""
        self.view.removed_expert_ids = [e for e in self.view.removed_expert_ids if e != cmd.expert_id]
        self.view.reserve = [c for c in self.view.reserve if c.expert_id != cmd.expert_id]
        self.view.shortlist.append(client_pick(cmd.expert_id))
        details = {"expert_id": str(cmd.expert_id)}
        summary = "the client chose an expert from the directory"
        await self.readmodel.event("client_pick", summary, actor=cmd.actor, details=details)
        return self.view

    @invite_expert.validator
    def _v_invite_expert(self, cmd: InviteExpert) -> None:
        rules.check_invite_expert(self.view, cmd)

    @workflow.update
    @ops_audited
    async def start_invitations(self, cmd: StartInvitations) -> MissionView:
        await self.mission.transition(
            Stage.INVITATIONS, "client starts invitations", actor=cmd.actor, close_tasks=["review_shortlist"]
        )
        return self.view

    @start_invitations.validator
    def _v_start_invitations(self, cmd: StartInvitations) -> None:
        rules.check_start_invitations(self.view, cmd)

    @workflow.update
    @ops_audited
    async def accept_invitation(self, cmd: AnswerInvitation) -> MissionView:
        await self.mission.invitations.answer(cmd, accepted=True)
        return self.view

    @accept_invitation.validator
    def _v_accept_invitation(self, cmd: AnswerInvitation) -> None:
        rules.check_answer_invitation(self.view, cmd, workflow.now())

    @workflow.update
    @ops_audited
    async def decline_invitation(self, cmd: AnswerInvitation) -> MissionView:
        await self.mission.invitations.answer(cmd, accepted=False)
        return self.view

    @decline_invitation.validator
    def _v_decline_invitation(self, cmd: AnswerInvitation) -> None:
        rules.check_answer_invitation(self.view, cmd, workflow.now())

    @workflow.update
    @ops_audited
    async def submit_proposal(self, cmd: SubmitProposal) -> MissionView:
        expert_id, r, total = cmd.actor.expert_id, self.view.proposal_round, proposal_total(cmd.terms)
        assert expert_id is not None
        self.view.proposals = [p for p in self.view.proposals if not (p.round == r and p.expert_id == expert_id)]
        self.view.proposals.append(
            Proposal(expert_id=expert_id, round=r, terms=cmd.terms, total=total, submitted_at=workflow.now())
        )
        await self.readmodel.event(
            "proposal_submitted",
            f"{total.amount} {total.currency}",
            actor=cmd.actor,
            close_tasks=[f"proposal:{r}:{expert_id}"],
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
        await self.readmodel.event(
            "proposal_withdrawn", cmd.reason, actor=cmd.actor, close_tasks=[f"proposal:{r}:{cmd.actor.expert_id}"]
        )
        return self.view

    @withdraw_proposal.validator
    def _v_withdraw_proposal(self, cmd: WithdrawProposal) -> None:
        rules.check_withdraw_proposal(self.view, cmd)

    @workflow.update
    @ops_audited
    async def select_proposal(self, cmd: SelectProposal) -> MissionView:
        r = self.view.proposal_round
        for p in self.view.proposals:
            if p.round == r and p.expert_id == cmd.expert_id and p.status == "submitted":
                p.status = "selected"
        self.view.selected_expert_id = cmd.expert_id
        await self.mission.transition(
            Stage.CONTRACT,
            "proposal selected",
            actor=cmd.actor,
            close_tasks=["select_proposal", f"escalation:selection:{r}"],
            details={"expert_id": str(cmd.expert_id)},
        )
        return self.view

    @select_proposal.validator
    def _v_select_proposal(self, cmd: SelectProposal) -> None:
        rules.check_select_proposal(self.view, cmd)

    @workflow.update
    @ops_audited
    async def request_new_round(self, cmd: RequestNewRound) -> MissionView:
        self.mission.new_round = True
        r = self.view.proposal_round
        await self.readmodel.event(
            "new_round_requested",
            cmd.reason,
            actor=cmd.actor,
            close_tasks=["select_proposal", f"escalation:selection:{r}"],
        )
        return self.view

    @request_new_round.validator
    def _v_request_new_round(self, cmd: RequestNewRound) -> None:
        rules.check_request_new_round(self.view, cmd, self.mission.new_round)

    @workflow.update
    @ops_audited
    async def sign_contract(self, cmd: SignContract) -> MissionView:
        """The contract, or during the delivery an amendment (`MissionView.to_sign`). Answered once the signature is
        on the PDF (`Mission.sign_and_seal` records it), or the mission moved on."""
        contract = self.view.to_sign()
        assert contract is not None
        contract.signatures.append(steps.new_signature(rules.signing_party(cmd.actor), cmd, workflow.now()))
        await workflow.wait_condition(
            lambda: all(s.recorded for s in contract.signatures) or self.view.to_sign() is not contract
        )
        return self.view

    @sign_contract.validator
    def _v_sign_contract(self, cmd: SignContract) -> None:
        rules.check_sign_contract(self.view, cmd, workflow.now())

    @workflow.update
    @ops_audited
    async def rate(self, cmd: RateParty) -> MissionView:
        await self.mission.feedback.rate(cmd)
        return self.view

    @rate.validator
    def _v_rate(self, cmd: RateParty) -> None:
        rules.check_rate(self.view, cmd, workflow.now())

    @workflow.update
    async def answer_rating(self, cmd: AnswerRating) -> MissionView:
        """The rated party answers the rating they received, once, publicly (the ratings are revealed)."""
        await self.mission.feedback.answer(cmd)
        return self.view

    @answer_rating.validator
    def _v_answer_rating(self, cmd: AnswerRating) -> None:
        rules.check_answer_rating(self.view, cmd, workflow.now())

    # --- side exits ---------------------------------------------------------------------------------------

    @workflow.update
    @ops_audited
    async def cancel(self, cmd: CancelMission) -> MissionView:
        """Before the contract binds: the client (or ops) cancels. After: ops, or both parties (the first asks,
        the other agrees), unpaid invoices kept due or cancelled by credit notes (workflows/mission_disputes.py)."""
        await self.mission.disputes.cancel(cmd)
        return self.view

    @cancel.validator
    def _v_cancel(self, cmd: CancelMission) -> None:
        rules.check_cancel(self.view, cmd, self.mission.stop is not None)

    @workflow.update
    @ops_audited
    async def open_dispute(self, cmd: OpenDispute) -> MissionView:
        """Either party, on a milestone or the whole mission: a child DisputeWorkflow runs it (workflows/dispute.py)."""
        await self.mission.disputes.open(cmd)
        return self.view

    @open_dispute.validator
    def _v_open_dispute(self, cmd: OpenDispute) -> None:
        rules.check_open_dispute(self.view, cmd)

    # --- ops: pause, repair, deadlines, experts ------------------------------------------------------------

    @workflow.update
    @ops_audited
    async def pause(self, cmd: PauseMission) -> MissionView:
        self.view.paused, self.view.paused_reason = True, cmd.reason
        self.deadlines.sync_suspension()
        await self.readmodel.event("paused", cmd.reason, actor=cmd.actor)
        self.mission.hold_milestones()
        return self.view

    @pause.validator
    def _v_pause(self, cmd: PauseMission) -> None:
        rules.check_pause(self.view, cmd)

    @workflow.update
    @ops_audited
    async def resume(self, cmd: ResumeMission) -> MissionView:
        """Resume a paused mission, or retry the step of a mission waiting for a repair."""
        if self.view.paused:
            self.view.paused, self.view.paused_reason = False, None
            self.deadlines.sync_suspension()
            await self.readmodel.event("resumed", cmd.reason, actor=cmd.actor)
            self.mission.hold_milestones()
        if self.view.stage is Stage.NEEDS_ATTENTION:
            self.mission.resume_requested = True
            await workflow.wait_condition(lambda: self.view.stage is not Stage.NEEDS_ATTENTION)
        return self.view

    @resume.validator
    def _v_resume(self, cmd: ResumeMission) -> None:
        rules.check_resume(self.view, cmd)

    @workflow.update
    @ops_audited
    async def extend_deadline(self, cmd: ExtendDeadline) -> MissionView:
        await self.deadlines.extend(cmd)
        return self.view

    @extend_deadline.validator
    def _v_extend_deadline(self, cmd: ExtendDeadline) -> None:
        rules.check_extend(self.view, cmd, workflow.now())

    @workflow.update
    @ops_audited
    async def reassign_expert(self, cmd: ReassignExpert) -> MissionView:
        """Before the contract: another expert is invited instead. During the delivery: a contract amendment hands
        the undelivered milestones over (workflows/handover.py)."""
        if self.view.stage is Stage.DELIVERY:
            await self.mission.handover.start(cmd)
        else:
            await self.mission.invitations.reassign(cmd)
        return self.view

    @reassign_expert.validator
    def _v_reassign_expert(self, cmd: ReassignExpert) -> None:
        rules.check_reassign(self.view, cmd, workflow.now())
