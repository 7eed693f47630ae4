"""`Handover`: the contract amendment that hands a signed mission's undelivered milestones over to another expert,
held by `Mission` (workflows/mission_process.py).

Ops ask for it during the delivery (update `reassign_expert`, validated by `mission_rules.check_reassign`; asked
again for another expert before the new one signed, it replaces the pending amendment, withdrawn): the
milestones still awaiting their deliverable hold; the amendment is rendered (the client, the outgoing and incoming
experts, the milestones and their due dates); the client then the new expert sign it (update `sign_contract`, which
signs whatever `MissionView.to_sign` names) and the platform seals it, as the contract (`Mission.sign_and_seal`).
Then each milestone passes to the new expert (signal `MilestoneWorkflow.hand_over`: their task, their invoice, which
refers to the amendment), who becomes the mission's contractor. The outgoing expert keeps what is theirs: the
milestones they delivered and that were accepted, invoiced and paid to them, and the sight of the mission as its
former contractor (domain.visibility). Changing this code: see "Changing a workflow" in the README.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import TYPE_CHECKING

from temporalio import workflow

from workflows import mission_rules as rules
from workflows import mission_steps as steps
from workflows.capabilities import call
from workflows.milestone import MilestoneWorkflow, quietly

with workflow.unsafe.imports_passed_through():
    from activities.contracts import ContractActivities
    from domain.mission import Amendment, ContractState, MilestoneHandover, ReassignExpert

if TYPE_CHECKING:
    from workflows.mission_process import Mission


class Handover:
    def __init__(self, mission: Mission) -> None:
        self._m = mission
        self._running: asyncio.Task[None] | None = None

    async def start(self, cmd: ReassignExpert) -> None:
        """Record the amendment asked for and hold its milestones; it is rendered, signed and carried out on its own
        (the update answers at once: the amendment shows as being prepared)."""
        m, view = self._m, self._m.view
        await self._withdraw_pending(cmd)
        amendment = Amendment(
            number=len(view.amendments) + 1,
            from_expert_id=cmd.from_expert_id,
            to_expert_id=cmd.to_expert_id,
            reason=cmd.reason,
            milestones=rules.to_hand_over(view),
            due_date=cmd.due_date,
        )
        view.amendments.append(amendment)
        m.hold_milestones()
        details = {
            "from": str(cmd.from_expert_id),
            "to": str(cmd.to_expert_id),
            "milestones": ", ".join(str(n) for n in amendment.milestones),
        }
        await m.readmodel.event("amendment_requested", cmd.reason, actor=cmd.actor, details=details)
        params = {"milestones": details["milestones"], "reason": cmd.reason[:300]}
        key = f"handover:{amendment.number}"
        await m.readmodel.notify(key, "expert", cmd.from_expert_id, "contract_handed_over", params)
        self._running = asyncio.create_task(self._carry_out(amendment))

    async def _withdraw_pending(self, cmd: ReassignExpert) -> None:
        """An amendment the new expert has not signed (they declined, or cannot): ops replace it by this one."""
        m, pending = self._m, self._m.view.pending_amendment()
        if pending is None:
            return
        if self._running is not None and not self._running.done():
            self._running.cancel()
            with suppress(asyncio.CancelledError):
                await self._running
        pending.withdrawn_at = workflow.now()
        k = pending.number
        m.deadlines.drop(f"amendment:{k}")
        closing = [f"amend:{k}:client", f"amend:{k}:expert", f"escalation:amendment:{k}"]
        details = {"amendment": str(k), "expert_id": str(pending.to_expert_id)}
        await m.readmodel.event(
            "amendment_withdrawn", cmd.reason, actor=cmd.actor, close_tasks=closing, details=details, outcome="replaced"
        )

    def stop(self) -> None:
        """The mission stops: an amendment being signed is abandoned with it."""
        if self._running is not None and not self._running.done():
            self._running.cancel()

    async def _carry_out(self, amendment: Amendment) -> None:
        m, view, k = self._m, self._m.view, amendment.number
        request = steps.amendment_request(view, amendment)
        document = await call(
            "amendment rendering",
            ContractActivities.render_amendment,
            request,
            task_queue=m.inp.documents_task_queue,
            repair=m.repair,
        )
        contract = amendment.contract = ContractState(document=document)
        d = m.deadlines.add(f"amendment:{k}", "signature", span=view.policy.signature)
        title = f"Sign amendment {k} to the contract"
        sign = [
            steps.client_task(view, f"amend:{k}:client", title, d, action="sign_contract"),
            steps.expert_task(amendment.to_expert_id, f"amend:{k}:expert", "sign_contract", title, d),
        ]
        details = {"document_id": str(document.document_id), "sha256": document.sha256, "amendment": str(k)}
        await m.readmodel.event("amendment_ready", f"amendment {k} ready to sign", open_tasks=sign, details=details)
        await m.sign_and_seal(contract, lambda party: f"amend:{k}:{party}")
        m.deadlines.drop(d.key)
        for n, plan in zip(request.numbers, request.milestones, strict=True):
            copy, due = m.milestone(n), plan.due_date
            handover = MilestoneHandover(
                expert_id=amendment.to_expert_id,
                contract_id=document.document_id,
                due_date=due,
                reason=f"amendment {k}: {amendment.reason}"[:300],
            )
            child = workflow.get_external_workflow_handle(copy.workflow_id)
            signal = child.signal(MilestoneWorkflow.hand_over, handover)
            m.signals.append(asyncio.create_task(quietly(signal)))
            copy.expert_id, copy.due_date = amendment.to_expert_id, due
        view.former_expert_ids.append(amendment.from_expert_id)
        view.selected_expert_id = amendment.to_expert_id
        amendment.handed_over_at = workflow.now()
        numbers = ", ".join(str(n) for n in amendment.milestones)
        assert contract.sealed is not None
        await m.readmodel.event(
            "contract_amended",
            f"amendment {k} sealed: milestones {numbers} handed over",
            close_tasks=[f"escalation:{d.key}"],
            details={
                "expert_id": str(amendment.to_expert_id),
                "from": str(amendment.from_expert_id),
                "sha256": contract.sealed.sha256,
                "amendment": str(k),
                "busy_until": max(plan.due_date for plan in request.milestones).isoformat(),
            },
        )
        params = {"number": str(k), "milestones": numbers}
        await m.readmodel.notify(f"amended:{k}:client", "client", view.client_org_id, "contract_amended", params)
        m.hold_milestones()  # after the hand-over signals: the milestones go on with their new expert
