"""`Mission`: the state of one mission and everything that moves it, held by MissionWorkflow (workflows/mission.py,
which adds what people can do: the updates).

Read it top to bottom: the state (`view`, what a query and every update return) and the helpers it holds
(`readmodel`: its writes to the read model; `deadlines`: its durable timers); `run`, then the stages a mission goes
through on its own (matching, invitations, proposal rounds, contract, delivery, feedback); then the one door
every stage change goes through (`transition`) and what the stages and the actions share. The lifecycle leaves
the automated stages; an update leaves a stage whose exit is a human decision (ops qualify, the client starts
invitations or selects a proposal). A side exit (cancel, settle a dispute) stops the lifecycle, whose timers,
activities and milestone children are cancelled with it, and closes every open task.

History size: a mission emits a bounded number of events (stages x parties x reminders; milestones run as children
with their own histories), so continue-as-new is not needed; the input models refuse more than 20 milestones or 10
proposal rounds. Changing this code: see "Changing a workflow" in the README (the replay gate).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from typing import Any
from uuid import UUID

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

from workflows import mission_rules as rules
from workflows import mission_steps as steps
from workflows.capabilities import call
from workflows.deadlines import Deadlines
from workflows.feedback import Feedback
from workflows.handover import Handover
from workflows.invitations import Invitations
from workflows.milestone import ACCEPTED, MilestoneWorkflow, quietly
from workflows.mission_disputes import Disputes
from workflows.need_review import NeedReview
from workflows.readmodel import Party, ReadModel

with workflow.unsafe.imports_passed_through():
    from activities.contracts import ContractActivities
    from activities.invoices import InvoiceActivities
    from activities.matching import MatchingActivities
    from domain.actors import Actor
    from domain.documents import CreditNoteRequest
    from domain.mission import (
        ContractState,
        Deadline,
        MilestoneHold,
        MilestoneView,
        MissionView,
        Settlement,
        StartMission,
        milestone_workflow_id,
    )
    from domain.stages import SUSPENDED, TERMINAL, MilestoneStage, Stage, can_move


class IllegalMove(RuntimeError):
    """A bug, not a user error: it fails the workflow task (retried), so the mission waits for a fixed worker
    instead of failing for good."""


class Mission:
    def __init__(self, inp: StartMission) -> None:
        self.inp = inp
        now = workflow.now()
        self.view = MissionView(
            workflow_id=workflow.info().workflow_id,
            mission_id=inp.mission_id,
            client_org_id=inp.client_org_id,
            need=inp.need,
            policy=inp.policy,
            stage=Stage.NEED,
            started_at=now,
            updated_at=now,
        )
        self.readmodel = ReadModel(self.view.workflow_id, inp.mission_id, self.view, search=inp.search_attributes)
        self.deadlines = Deadlines(
            self.view, inp.policy, self.readmodel, suspended=self.suspended, expired=self._on_expired
        )
        self.invitations = Invitations(self.view, inp.policy, self.readmodel, self.deadlines)
        self.disputes = Disputes(self)
        self.handover = Handover(self)
        self.need = NeedReview(self)
        self.feedback = Feedback(self)
        # a side exit asked for: cancelled or closed, and what becomes of the unpaid invoices
        self.stop: tuple[Stage, str, Actor | None, Settlement] | None = None
        self.recorded = False  # the need is in the read model (update `opened`)
        self.resume_requested = False  # ops asked to retry the step that failed
        self.new_round = False  # the client asked for another proposal round
        self._window_closed = False  # the proposal window passed its deadline
        self._children: dict[int, asyncio.Task[MilestoneView]] = {}  # each running milestone, by number
        self.signals: list[asyncio.Task[None]] = []  # sent to the milestones; nobody waits for their ack

    async def run(self) -> MissionView:
        await self.readmodel.event("need_submitted", self.inp.need.title, actor=self.inp.actor)
        self.recorded = True
        life = asyncio.create_task(self._lifecycle())
        await workflow.wait_condition(lambda: life.done() or self.stop is not None)
        if not life.done():
            life.cancel()
            with suppress(asyncio.CancelledError):
                await life
        else:
            life.result()
        if self.stop is not None:
            to, reason, actor, unpaid = self.stop
            self.disputes.stop()
            self.handover.stop()
            kept = await self._settle(unpaid, reason)
            self.view.deadlines.clear()
            self.view.closed_reason = reason
            await self.transition(to, reason, actor=actor, close_tasks=["*"], outcome=to.value)
            if kept:  # the accepted work stays invoiced and due: the mission ends once it is paid
                finals = {v.number: v for v in await asyncio.gather(*kept, return_exceptions=True)
                          if isinstance(v, MilestoneView)}  # fmt: skip
                self.view.milestones = [finals.get(m.number, m) for m in self.view.milestones]
        await workflow.wait_condition(workflow.all_handlers_finished)
        await asyncio.gather(*self.signals)
        return self.view

    def milestone(self, n: int) -> MilestoneView:
        return next(m for m in self.view.milestones if m.number == n)

    async def _settle(self, unpaid: Settlement, reason: str) -> list[asyncio.Task[MilestoneView]]:
        """The termination clause: work in progress stops (its milestones are cancelled); accepted work is invoiced;
        its unpaid invoices stay due (`keep`: those milestones go on until paid, returned) or are cancelled by a
        credit note each (`credit`). Never dropped."""
        live = {n: t for n, t in self._children.items() if not t.done()}
        copies = {m.number: m for m in self.view.milestones}
        due = {n for n in live if copies[n].stage in ACCEPTED and copies[n].stage is not MilestoneStage.PAID}
        credited = {n for n in due if unpaid == "credit" and copies[n].invoice is not None}
        kept = due - credited
        for n, task in live.items():
            if n not in kept:
                task.cancel()
                # a cancelled child ends as ChildWorkflowError(cause=CancelledError) for its parent
                with suppress(asyncio.CancelledError, ChildWorkflowError):
                    await task
                self.milestone(n).stage = MilestoneStage.CANCELLED
        self.hold_milestones(released=True)  # the kept ones go on to their invoice and payment
        for n in sorted(credited):
            invoice = copies[n].invoice
            assert invoice is not None and invoice.number is not None
            request = CreditNoteRequest(
                invoice_number=invoice.number,
                idempotency_key=f"credit:{invoice.number}",
                reason=reason[:300],
                issue_date=workflow.now().date(),
            )
            note = await call(
                "credit note",
                InvoiceActivities.issue_credit_note,
                request,
                task_queue=self.inp.documents_task_queue,
                repair=self.repair,
            )
            self.milestone(n).credit_note = note  # the copy of now: a signal may have replaced it meanwhile
            details = {"milestone": str(n), "invoice": invoice.number, "credit_note": note.number or ""}
            await self.readmodel.event("credit_note_issued", f"invoice {invoice.number} cancelled", details=details)
            params = {"number": note.number or "", "invoice": invoice.number}
            parties: list[tuple[Party, UUID | None]] = [
                ("client", self.view.client_org_id),
                ("expert", self.view.selected_expert_id),
            ]
            for party, party_id in parties:
                await self.readmodel.notify(f"credit_note:{n}:{party}", party, party_id, "credit_note_issued", params)
        if kept:
            numbers = ", ".join(str(n) for n in sorted(kept))
            await self.readmodel.event("invoices_kept_due", f"milestones {numbers}: accepted work stays due")
        return [live[n] for n in sorted(kept)]

    async def _lifecycle(self) -> None:
        await self.need.run()
        while True:
            await self._shortlist_stage()
            if await self._invitation_stage():
                break
        await self._proposal_stage()
        await self._contract_stage()
        await self._delivery_stage()
        await self._feedback_stage()
        self.view.closed_reason = "completed"
        await self.advance(Stage.CLOSED, "mission completed", close_tasks=["*"])
        await self.feedback.answers()

    # --- the stages a mission goes through on its own ------------------------------------------------------

    async def _shortlist_stage(self) -> None:
        if self.view.stage is not Stage.SHORTLIST:
            await self.advance(Stage.SHORTLIST, "matching experts")
        self.view.shortlist, self.view.reserve = [], []
        while True:
            request = steps.shortlist_request(self.view)
            queue = self.inp.matching_task_queue
            shortlist = await call(
                "matching", MatchingActivities.shortlist_experts, request, task_queue=queue, repair=self.repair
            )
            if shortlist.candidates:
                break
            await self._pool_exhausted("matching found no available expert for this need")
        # recorded first: the client sees the shortlist with its review task, in one write
        exposure = steps.exposure_record(self.view, shortlist.candidates, workflow.now())
        await call(
            "matching", MatchingActivities.record_shortlist_exposure, exposure, task_queue=queue, repair=self.repair
        )
        self.view.shortlist, self.view.reserve = shortlist.candidates, shortlist.reserve
        summary = f"{len(shortlist.candidates)} candidates, {len(shortlist.reserve)} in reserve"
        review = steps.client_task(self.view, "review_shortlist", "Review the shortlist and invite")
        await self.readmodel.event("shortlist_ready", summary, open_tasks=[review])
        await self.deadlines.wait(lambda: self.view.stage is not Stage.SHORTLIST)

    async def _pool_exhausted(self, reason: str) -> None:
        """Nobody left to invite: the client is told, ops get a task; ops `resume` runs matching again."""
        key, client = f"pool_exhausted:{workflow.now().isoformat()}", self.inp.client_org_id
        await self.readmodel.notify(key, "client", client, "pool_exhausted")
        self.view.shortlist, self.view.reserve = [], []
        await self.repair(reason, back=Stage.SHORTLIST)

    async def _invitation_stage(self) -> bool:
        """Invite the shortlist; backfill declines and silences from the reserve. False: pool exhausted."""
        for candidate in list(self.view.shortlist):
            await self.invitations.invite(candidate.expert_id)
        await self.invitations.backfill()
        target = self.inp.policy.target_accepted
        await self.deadlines.wait(
            lambda: len(self.view.accepted_expert_ids()) >= target or not rules.pending_or_reserve(self.view)
        )
        await self.invitations.withdraw_pending("enough experts accepted")
        accepted = len(self.view.accepted_expert_ids())
        if not accepted:
            await self._pool_exhausted("no expert accepted and the reserve is exhausted")
            return False
        if accepted < target:
            client, params = self.inp.client_org_id, {"accepted": str(accepted)}
            await self.readmodel.notify(f"fewer_experts:{accepted}", "client", client, "fewer_experts", params)
        return True

    async def _proposal_stage(self) -> None:
        while True:
            self.view.proposal_round += 1
            r = self.view.proposal_round
            self._window_closed, self.new_round, self.view.proposals_open = False, False, True
            d = self.deadlines.add(f"proposals:{r}", "proposals", span=self.inp.policy.proposals)
            tasks = [steps.proposal_task(e, r, d) for e in self.view.accepted_expert_ids()]
            if self.view.stage is Stage.PROPOSALS:
                await self.readmodel.event("proposal_round_opened", f"round {r}", open_tasks=tasks)
            else:
                await self.advance(Stage.PROPOSALS, f"proposal round {r}", open_tasks=tasks)
            await self.deadlines.wait(lambda: self._window_closed or rules.all_answered(self.view))
            self.view.proposals_open = False
            self.deadlines.drop(d.key)
            sel = self.deadlines.add(f"selection:{r}", "selection", span=self.inp.policy.selection)
            live = [p for p in self.view.proposals if p.round == r and p.status == "submitted"]
            select = steps.client_task(self.view, "select_proposal", "Select a proposal or ask for a new round", sel)
            closing = [t.key for t in tasks]
            await self.readmodel.event(
                "proposals_closed",
                f"{len(live)} proposals in round {r}",
                open_tasks=[select],
                close_tasks=closing,
                outcome="window closed",
            )
            await self.deadlines.wait(lambda: self.view.stage is not Stage.PROPOSALS or self.new_round)
            self.deadlines.drop(sel.key)
            if not self.new_round:
                return

    async def _contract_stage(self) -> None:
        docs, expert_id = self.inp.documents_task_queue, rules.selected_proposal(self.view).expert_id
        document = await call(
            "contract rendering",
            ContractActivities.render_contract,
            steps.contract_request(self.view),
            task_queue=docs,
            repair=self.repair,
        )
        contract = self.view.contract = ContractState(document=document)
        d = self.deadlines.add("signature", "signature", span=self.inp.policy.signature)
        sign = [
            steps.client_task(self.view, "sign:client", "Sign the contract", d, action="sign_contract"),
            steps.expert_task(expert_id, "sign:expert", "sign_contract", "Sign the contract", d),
        ]
        details = {"document_id": str(document.document_id), "sha256": document.sha256}
        await self.readmodel.event("contract_ready", "contract ready to sign", open_tasks=sign, details=details)
        await self.sign_and_seal(contract, lambda party: f"sign:{party}")
        self.deadlines.drop("signature")
        assert contract.sealed is not None
        await self.advance(
            Stage.DELIVERY,
            "contract signed and sealed",
            close_tasks=["escalation:signature"],
            details={"sha256": contract.sealed.sha256, "busy_until": steps.busy_until(self.view).isoformat()},
        )

    async def sign_and_seal(self, contract: ContractState, task_key: Callable[[str], str]) -> None:
        """Put each party's signature on the contract (or an amendment) as it comes, the client's first (the update
        `sign_contract` waits until its signature is recorded), then the platform's seal. `task_key`: the key of the
        party's signing task, closed once its signature is on the PDF."""
        docs = self.inp.documents_task_queue
        while not (len(contract.signatures) == 2 and all(s.recorded for s in contract.signatures)):
            await self.deadlines.wait(lambda: any(not s.recorded for s in contract.signatures))
            for sig in [s for s in contract.signatures if not s.recorded]:
                contract.document = await call(
                    f"{sig.party} signature",
                    ContractActivities.sign_contract,
                    steps.sign_request(self.view, contract, sig),
                    task_queue=docs,
                    repair=self.repair,
                )
                sig.recorded = True
                details = {"sha256": contract.document.sha256}
                closing = [task_key(sig.party)]
                await self.readmodel.event(
                    "contract_signed", f"signed by the {sig.party}", close_tasks=closing, details=details
                )
        contract.sealed = await call(
            "contract seal",
            ContractActivities.seal_contract,
            steps.seal_request(self.view, contract),
            task_queue=docs,
            repair=self.repair,
        )

    async def _delivery_stage(self) -> None:
        """One child workflow per milestone; the mission moves to feedback once each is accepted."""
        handles = []
        for start in steps.milestone_starts(self.view, self.inp):
            child_id = milestone_workflow_id(self.inp.mission_id, start.number)
            self.view.milestones.append(steps.initial_milestone(child_id, start))
            handles.append(
                await workflow.start_child_workflow(
                    MilestoneWorkflow.run, start, id=child_id, parent_close_policy=ParentClosePolicy.REQUEST_CANCEL
                )
            )

        async def final(handle: workflow.ChildWorkflowHandle[MilestoneWorkflow, MilestoneView]) -> MilestoneView:
            return await handle

        self._children = {n: asyncio.create_task(final(h)) for n, h in enumerate(handles, start=1)}
        await self.deadlines.wait(lambda: all(m.stage in ACCEPTED for m in self.view.milestones))
        await self.advance(Stage.FEEDBACK, "every milestone accepted")

    async def _feedback_stage(self) -> None:
        await self.feedback.run()
        if self._children:  # the milestones end once paid: the mission closes after them
            # shielded: a side exit meanwhile cancels this wait, not the milestones (the exit settles them: _settle)
            self.view.milestones = list(await asyncio.gather(*(asyncio.shield(t) for t in self._children.values())))

    # --- the one door, and what the stages and the actions share --------------------------------------------

    async def transition(self, to: Stage, reason: str, *, actor: Actor | None = None, **event: Any) -> None:
        """Check the move, set the stage, record the event (read model and search attributes). `event`: the tasks
        the move opens and closes, its details and outcome (ReadModel.event)."""
        frm = self.view.stage
        if not can_move(frm, to):
            raise IllegalMove(f"{frm} -> {to} not allowed")
        if to in SUSPENDED and frm not in SUSPENDED:
            self.view.resume_stage = frm
        self.view.stage, self.view.updated_at = to, workflow.now()
        self.deadlines.sync_suspension()
        details = {"from": frm.value, **event.pop("details", {})}
        await self.readmodel.event(f"stage:{to.value}", reason, actor=actor, details=details, **event)

    async def advance(self, to: Stage, reason: str, **event: Any) -> None:
        """A move of the lifecycle itself: never while the mission is paused, disputed or under repair."""
        await workflow.wait_condition(lambda: not self.suspended())
        await self.transition(to, reason, **event)

    def suspended(self) -> bool:
        return self.view.paused or self.view.stage in SUSPENDED

    async def stop_with(self, to: Stage, reason: str, actor: Actor, unpaid: Settlement = "keep") -> None:
        """A side exit: run() stops the lifecycle and ends the mission; return once it has."""
        self.stop = (to, reason, actor, unpaid)
        await workflow.wait_condition(lambda: self.view.stage in TERMINAL)

    async def repair(self, reason: str, back: Stage | None = None) -> None:
        """Park the mission in needs_attention with an ops task; return once ops resumed it (update `resume`), to
        `back` or to where it was."""
        self.resume_requested, self.view.attention_reason = False, reason
        task = steps.ops_task("attention", "repair", reason)
        await self.transition(Stage.NEEDS_ATTENTION, reason, open_tasks=[task])
        self.view.resume_stage = back or self.view.resume_stage
        await workflow.wait_condition(lambda: self.resume_requested)
        self.view.attention_reason = None
        back = self.view.resume_stage or Stage.NEED
        await self.transition(back, "resumed by ops", close_tasks=["attention"], outcome="resumed")

    async def _on_expired(self, deadline: Deadline) -> None:
        if deadline.kind == "invitation":
            await self.invitations.expired(deadline)
        elif deadline.kind == "feedback":
            self.feedback.window_closed = True
        elif deadline.kind == "proposals":
            self._window_closed = True
        else:
            await self.deadlines.escalate(deadline)

    def hold_milestones(self, *, released: bool = False) -> None:
        """Tell the milestones the mission is paused or disputed, or that a contract amendment hands them over (they
        hold), or running again (or `released`)."""
        stopped = self.view.paused or self.view.stage is Stage.DISPUTED
        amendment = self.view.pending_amendment()
        for m in self.view.milestones:
            handed = amendment is not None and m.number in amendment.milestones
            held = not released and (stopped or handed)
            handing = f"handed over to another expert by amendment {amendment.number}" if handed and amendment else ""
            reason = self.view.paused_reason or self.view.dispute_reason or handing
            hold = MilestoneHold(held=held, reason=reason[:300])
            signal = workflow.get_external_workflow_handle(m.workflow_id).signal(MilestoneWorkflow.hold, hold)
            self.signals.append(asyncio.create_task(quietly(signal)))
