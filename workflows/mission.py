"""MissionWorkflow (id `mission:{id}`): one per need, from qualification to feedback, for weeks or months.

Who moves the stage: the lifecycle coroutine leaves the automated stages (matching, contract rendering and
sealing, delivery once every milestone is accepted); an update handler leaves a stage whose exit is a human
decision (ops qualifies, client starts invitations, selects a proposal). Both go through `_transition`, the
one door. Side exits (cancel, dispute, needs_attention, pause) can come at any time: cancel stops the lifecycle
task (its timers, activities and milestone children are cancelled with it) and closes every open task.

History size: a mission emits a bounded number of events (stages x parties x reminders, plus milestones which
run as children with their own histories), so continue-as-new is not needed; a mission with more than ~20
milestones or proposal rounds is refused by the input models before it can grow without bound.

Changing this code: see "Changing a workflow" in the README (the replay gate).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from contextlib import suppress
from datetime import datetime
from uuid import UUID

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

from workflows.milestone import ACCEPTED as ACCEPTED_MILESTONE
from workflows.milestone import MilestoneWorkflow
from workflows.mission_updates import MissionUpdates

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        ContractRequest,
        IssuedDocument,
        SealContractRequest,
        Shortlist,
        ShortlistRequest,
        SignContractRequest,
    )
    from activities.projection import MilestoneRow, MissionRow
    from domain.actors import Actor, Role
    from domain.mission import (
        ContractState,
        Deadline,
        Invitation,
        MilestoneHold,
        MilestoneView,
        MissionView,
        PendingAction,
        StartMilestone,
        StartMission,
        milestone_workflow_id,
    )
    from domain.stages import SUSPENDED, Stage, can_move
    from workflows import mission_rules as rules


class IllegalMove(RuntimeError):
    """A bug, not a user error: it fails the workflow task (retried), so the mission waits for a fixed
    worker instead of failing for good."""


async def _quietly(signal: Awaitable[None]) -> None:
    with suppress(Exception):  # a child already finished cannot be held
        await signal


@workflow.defn(name="MissionWorkflow")
class MissionWorkflow(MissionUpdates):
    @workflow.init
    def __init__(self, inp: StartMission) -> None:
        now = workflow.now()
        self.inp = inp
        self._workflow_id = workflow.info().workflow_id
        self._mission_id = inp.mission_id
        self._seq = 0
        self._resume_requested = False
        self._search_attributes = inp.search_attributes
        self._upserted = {}
        self._stop: tuple[Stage, str, Actor | None] | None = None
        self._suspended_at: datetime | None = None
        self._writes = asyncio.Lock()
        self._window_closed = False
        self._new_round = False
        self._children: asyncio.Task[list[MilestoneView]] | None = None
        self._child_ids: list[str] = []
        self._signals: list[asyncio.Task[None]] = []
        self.view = MissionView(
            workflow_id=self._workflow_id,
            mission_id=inp.mission_id,
            client_org_id=inp.client_org_id,
            need=inp.need,
            policy=inp.policy,
            stage=Stage.NEED,
            started_at=now,
            updated_at=now,
        )

    # --- run ----------------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: StartMission) -> MissionView:
        await self._project("need_submitted", inp.need.title, actor=inp.actor)
        life = asyncio.create_task(self._lifecycle())
        await workflow.wait_condition(lambda: life.done() or self._stop is not None)
        if not life.done():
            life.cancel()
            with suppress(asyncio.CancelledError):
                await life
        else:
            life.result()
        if self._stop is not None:
            to, reason, actor = self._stop
            if self._children is not None and not self._children.done():
                self._children.cancel()
                # a cancelled child ends as ChildWorkflowError(cause=CancelledError) for its parent
                with suppress(asyncio.CancelledError, ChildWorkflowError):
                    await self._children
            self.view.deadlines.clear()
            self.view.closed_reason = reason
            await self._transition(to, reason, actor=actor, close_tasks=["*"], outcome=to.value)
        await workflow.wait_condition(workflow.all_handlers_finished)
        await asyncio.gather(*self._signals)
        return self.view

    async def _lifecycle(self) -> None:
        await self._need_stage()
        while True:
            await self._shortlist_stage()
            if await self._invitation_stage():
                break
        await self._proposal_stage()
        await self._contract_stage()
        await self._delivery_stage()
        await self._feedback_stage()
        self.view.closed_reason = "completed"
        await self._advance(Stage.CLOSED, "mission completed", close_tasks=["*"])

    # --- stages --------------------------------------------------------------------------------------

    async def _need_stage(self) -> None:
        if not self.inp.policy.qualification_required:
            return
        await self._advance(Stage.QUALIFICATION, "awaiting ops qualification", open_tasks=[rules.qualify_task()])
        # the ops decision (qualify_need) moves on: to shortlist, back to need for details, or cancels
        await self._await(lambda: self.view.stage not in (Stage.NEED, Stage.QUALIFICATION))

    async def _shortlist_stage(self) -> None:
        if self.view.stage is not Stage.SHORTLIST:
            await self._advance(Stage.SHORTLIST, "matching experts")
        self.view.shortlist, self.view.reserve = [], []
        while True:
            exclude = [*self.view.removed_expert_ids, *self.view.expert_ids()]
            shortlist = await self._call(
                "matching",
                "shortlist_experts",
                ShortlistRequest(
                    mission_id=self.inp.mission_id,
                    client_org_id=self.inp.client_org_id,
                    need=self.view.need,
                    exclude_expert_ids=exclude,
                    size=self.inp.policy.shortlist_size,
                    reserve_size=self.inp.policy.reserve_size,
                ),
                Shortlist,
                self.inp.matching_task_queue,
            )
            if shortlist.candidates:
                break
            await self._pool_exhausted("matching found no available expert for this need")
        self.view.shortlist = shortlist.candidates
        self.view.reserve = shortlist.reserve
        await self._project(
            "shortlist_ready",
            f"{len(shortlist.candidates)} candidates, {len(shortlist.reserve)} in reserve",
            open_tasks=[rules.client_task(self.view, "review_shortlist", "Review the shortlist and invite")],
        )
        await self._await(lambda: self.view.stage is not Stage.SHORTLIST)

    async def _pool_exhausted(self, reason: str) -> None:
        """Nobody left to invite: the client is told, ops get a task; ops `resume` runs matching again."""
        await self._notify(f"pool_exhausted:{self._seq}", "client", self.inp.client_org_id, "pool_exhausted")
        self._resume_requested = False
        await self._enter_attention(reason)
        self.view.resume_stage = Stage.SHORTLIST
        self.view.shortlist, self.view.reserve = [], []
        await workflow.wait_condition(lambda: self._resume_requested)
        self._resume_requested = False
        await self._leave_attention()

    async def _invitation_stage(self) -> bool:
        """Invite the shortlist; backfill declines and silences from the reserve. False: pool exhausted."""
        for candidate in list(self.view.shortlist):
            await self._invite(candidate.expert_id)
        await self._backfill()
        target = self.inp.policy.target_accepted
        await self._await(
            lambda: len(self.view.accepted_expert_ids()) >= target or not rules.pending_or_reserve(self.view)
        )
        for inv in self.view.invitations:
            if inv.status == "pending":
                inv.status = "withdrawn"
                self._drop_deadline(f"invitation:{inv.expert_id}")
                await self._project(
                    "invitation_withdrawn", "enough experts accepted", close_tasks=[f"invitation:{inv.expert_id}"]
                )
        accepted = self.view.accepted_expert_ids()
        if not accepted:
            await self._pool_exhausted("no expert accepted and the reserve is exhausted")
            return False
        if len(accepted) < target:
            await self._notify(
                f"fewer_experts:{len(accepted)}",
                "client",
                self.inp.client_org_id,
                "fewer_experts",
                {"accepted": str(len(accepted))},
            )
        return True

    async def _proposal_stage(self) -> None:
        while True:
            self.view.proposal_round += 1
            r = self.view.proposal_round
            self._window_closed = False
            self.view.proposals_open = True
            span = self.inp.policy.proposals
            d = self._add_deadline(f"proposals:{r}", "proposals", span, self.inp.policy.reminder_for(span))
            tasks = [rules.proposal_task(e, r, d) for e in self.view.accepted_expert_ids()]
            if self.view.stage is Stage.PROPOSALS:
                await self._project("proposal_round_opened", f"round {r}", open_tasks=tasks)
            else:
                await self._advance(Stage.PROPOSALS, f"proposal round {r}", open_tasks=tasks)
            await self._await(lambda: self._window_closed or rules.all_answered(self.view))
            self.view.proposals_open = False
            self._drop_deadline(d.key)
            span = self.inp.policy.selection
            sel = self._add_deadline(f"selection:{r}", "selection", span, self.inp.policy.reminder_for(span))
            live = [p for p in self.view.proposals if p.round == r and p.status == "submitted"]
            self._new_round = False
            await self._project(
                "proposals_closed",
                f"{len(live)} proposals in round {r}",
                close_tasks=[t.key for t in tasks],
                open_tasks=[
                    rules.client_task(self.view, "select_proposal", "Select a proposal or ask for a new round", sel)
                ],
                outcome="window closed",
            )
            await self._await(lambda: self.view.stage is not Stage.PROPOSALS or self._new_round)
            self._drop_deadline(sel.key)
            if not self._new_round:
                return

    async def _contract_stage(self) -> None:
        proposal = rules.selected_proposal(self.view)
        request = ContractRequest(
            mission_id=self.inp.mission_id,
            client_org_id=self.inp.client_org_id,
            expert_id=proposal.expert_id,
            mission_title=self.view.need.title,
            language=self.view.need.mission_language,
            confidential=self.view.need.confidential,
            terms=proposal.terms,
            total=proposal.total,
        )
        document = await self._call("contract rendering", "render_contract", request, IssuedDocument, self._docs)
        self.view.contract = ContractState(document=document)
        span = self.inp.policy.signature
        d = self._add_deadline("signature", "signature", span, self.inp.policy.reminder_for(span))
        await self._project(
            "contract_ready",
            "contract ready to sign",
            open_tasks=[
                rules.client_task(self.view, "sign:client", "Sign the contract", d, action="sign_contract"),
                rules.expert_task(proposal.expert_id, "sign:expert", "sign_contract", "Sign the contract", d),
            ],
            details={"document_id": str(document.document_id), "sha256": document.sha256},
        )
        contract = self.view.contract
        while not (len(contract.signatures) == 2 and all(s.recorded for s in contract.signatures)):
            await self._await(lambda: any(not s.recorded for s in contract.signatures))
            for sig in [s for s in contract.signatures if not s.recorded]:
                signed = await self._call(
                    f"{sig.party} signature",
                    "sign_contract",
                    SignContractRequest(
                        mission_id=self.inp.mission_id,
                        contract_id=contract.document.document_id,
                        party=sig.party,
                        signer_user_id=sig.user_id,
                        signed_at=sig.signed_at,
                        expected_sha256=sig.sha256,
                    ),
                    IssuedDocument,
                    self._docs,
                )
                contract.document = signed
                sig.recorded = True
                await self._project(
                    "contract_signed",
                    f"signed by the {sig.party}",
                    close_tasks=[f"sign:{sig.party}"],
                    details={"sha256": signed.sha256},
                )
        self._drop_deadline("signature")
        contract.sealed = await self._call(
            "contract seal",
            "seal_contract",
            SealContractRequest(mission_id=self.inp.mission_id, contract_id=contract.document.document_id),
            IssuedDocument,
            self._docs,
        )
        await self._advance(
            Stage.DELIVERY,
            "contract signed and sealed",
            close_tasks=["escalation:signature"],
            details={"sha256": contract.sealed.sha256},
        )

    async def _delivery_stage(self) -> None:
        proposal = rules.selected_proposal(self.view)
        contract = self.view.contract
        assert contract is not None
        handles = []
        for n, plan in enumerate(proposal.terms.milestones, start=1):
            child_id = milestone_workflow_id(self.inp.mission_id, n)
            start = StartMilestone(
                mission_id=self.inp.mission_id,
                number=n,
                plan=plan,
                currency=proposal.terms.currency,
                contract_id=contract.document.document_id,
                client_org_id=self.inp.client_org_id,
                expert_id=proposal.expert_id,
                mission_title=self.view.need.title,
                language=self.view.need.mission_language,
                policy=self.inp.policy,
                documents_task_queue=self.inp.documents_task_queue,
                search_attributes=self.inp.search_attributes,
            )
            self.view.milestones.append(rules.initial_milestone(child_id, start))
            handles.append(
                await workflow.start_child_workflow(
                    MilestoneWorkflow.run, start, id=child_id, parent_close_policy=ParentClosePolicy.REQUEST_CANCEL
                )
            )
            self._child_ids.append(child_id)

        async def _all() -> list[MilestoneView]:
            return list(await asyncio.gather(*handles))

        self._children = asyncio.create_task(_all())
        await self._await(lambda: all(m.stage in ACCEPTED_MILESTONE for m in self.view.milestones))
        await self._advance(Stage.FEEDBACK, "every milestone accepted")

    async def _feedback_stage(self) -> None:
        span = self.inp.policy.feedback
        d = self._add_deadline("feedback", "feedback", span, self.inp.policy.reminder_for(span))
        expert_id = self.view.selected_expert_id
        await self._project(
            "feedback_opened",
            "rate each other",
            open_tasks=[
                rules.client_task(self.view, "rate:client", "Rate the expert", d, action="rate_expert"),
                rules.expert_task(expert_id, "rate:expert", "rate_client", "Rate the client", d),
            ],
        )
        self._window_closed = False
        await self._await(lambda: self._window_closed or len(self.view.ratings) == 2)
        self._drop_deadline("feedback")
        await self._project(
            "feedback_closed",
            f"{len(self.view.ratings)} ratings",
            close_tasks=["rate:client", "rate:expert"],
            outcome="window closed",
        )
        if self._children is not None:
            finals = await self._children
            self.view.milestones = finals

    # --- transitions -------------------------------------------------------------------------------

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
        """The one door: check the move, change the stage, project the event, upsert the search attributes."""
        frm = self.view.stage
        if not can_move(frm, to):
            raise IllegalMove(f"{frm} -> {to} not allowed")
        if to in SUSPENDED and frm not in SUSPENDED:
            self.view.resume_stage = frm
        self.view.stage = to
        self.view.updated_at = workflow.now()
        self._sync_suspension()
        await self._project(
            f"stage:{to.value}",
            reason,
            actor=actor,
            open_tasks=open_tasks,
            close_tasks=close_tasks,
            details={"from": frm.value, **(details or {})},
            outcome=outcome,
        )

    async def _advance(self, to: Stage, reason: str, **kwargs: object) -> None:
        """A move of the lifecycle itself: never while the mission is paused, disputed or under repair."""
        await workflow.wait_condition(lambda: not self._suspended())
        await self._transition(to, reason, **kwargs)  # type: ignore[arg-type]

    async def _hold_children(self) -> None:
        held = self.view.paused or self.view.stage is Stage.DISPUTED
        reason = self.view.paused_reason or self.view.dispute_reason or ""
        for child_id in self._child_ids:
            signal = workflow.get_external_workflow_handle(child_id).signal(
                MilestoneWorkflow.hold, MilestoneHold(held=held, reason=reason)
            )
            # the signal is sent with the answer; nobody waits for the child's ack
            self._signals.append(asyncio.create_task(_quietly(signal)))

    # --- Lifecycle hooks -----------------------------------------------------------------------------

    @property
    def _docs(self) -> str | None:
        return self.inp.documents_task_queue

    def _deadlines(self) -> list[Deadline]:
        return self.view.deadlines

    def _pending(self) -> list[PendingAction]:
        return self.view.pending_actions

    def _suspended(self) -> bool:
        return self.view.paused or self.view.stage in SUSPENDED

    def _stage_name(self) -> str:
        return self.view.stage.value

    def _rows(self) -> tuple[MissionRow | None, MilestoneRow | None]:
        return rules.mission_row(self.view, self._next_deadline()), None

    def _audit_target(self) -> str:
        return f"mission:{self._mission_id}"

    def _search_values(self) -> dict[str, object]:
        return {
            "MissionStage": self.view.stage.value,
            "ClientOrg": str(self.inp.client_org_id),
            "ExpertIds": sorted(str(e) for e in self.view.expert_ids()),
            "NextDeadline": self._next_deadline(),
        }

    async def _on_expired(self, deadline: Deadline) -> None:
        if deadline.kind == "invitation":
            expert_id = UUID(deadline.key.split(":", 1)[1])
            inv = rules.invitation(self.view, expert_id)
            if inv is not None and inv.status == "pending":
                inv.status = "expired"
                await self._project(
                    "invitation_expired",
                    "no answer in time",
                    close_tasks=[f"invitation:{expert_id}"],
                    outcome="expired",
                )
                await self._notify(f"invitation_expired:{expert_id}", "expert", expert_id, "invitation_expired")
                await self._backfill()
        elif deadline.kind in ("proposals", "feedback"):
            self._window_closed = True
        else:
            await self._escalate(deadline)

    async def _enter_attention(self, reason: str) -> None:
        self.view.attention_reason = reason
        task = PendingAction(key="attention", role=Role.OPS, party_id=None, action="repair", title=reason[:300])
        await self._transition(Stage.NEEDS_ATTENTION, reason, open_tasks=[task])

    async def _leave_attention(self) -> None:
        back = self.view.resume_stage or Stage.NEED
        self.view.attention_reason = None
        await self._transition(back, "resumed by ops", close_tasks=["attention"], outcome="resumed")

    # --- invitations -------------------------------------------------------------------------------------

    async def _invite(self, expert_id: UUID) -> None:
        now = workflow.now()
        self.view.invitations.append(Invitation(expert_id=expert_id, invited_at=now))
        span = self.inp.policy.invitation_answer
        d = self._add_deadline(f"invitation:{expert_id}", "invitation", span, self.inp.policy.reminder_for(span))
        await self._project(
            "expert_invited",
            str(expert_id),
            open_tasks=[
                rules.expert_task(expert_id, f"invitation:{expert_id}", "answer_invitation", "Answer the invitation", d)
            ],
        )
        await self._notify(f"invited:{expert_id}", "expert", expert_id, "invitation", {"due": d.due.isoformat()})

    async def _backfill(self) -> None:
        target = self.inp.policy.target_accepted
        while self.view.reserve and rules.accepted_or_pending(self.view) < target:
            candidate = self.view.reserve.pop(0)
            if candidate.expert_id in self.view.expert_ids() or candidate.expert_id in self.view.removed_expert_ids:
                continue
            await self._invite(candidate.expert_id)

    # --- queries and signals ---------------------------------------------------------------------------

    @workflow.query
    def state(self) -> MissionView:
        return self.view

    @workflow.signal
    def milestone_changed(self, milestone: MilestoneView) -> None:
        self.view.milestones = [milestone if m.number == milestone.number else m for m in self.view.milestones]
