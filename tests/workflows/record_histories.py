"""Record the histories replayed by test_replay.py, one per workflow and scenario:

    .venv/bin/python -m tests.workflows.record_histories [rich] [searchable] [membership] [approval] [handover]

(default: all)

- `rich`: one mission with a revision, an automatic acceptance, payment reminders, a dispute (opened by the client on
  milestone 2, answered by the expert, decided by ops: continue) and ratings, on the time-skipping server:
  tests/histories/{mission,milestone_1,milestone_2,dispute_1}_rich.json. The time-skipping
  server knows no custom search attributes, so these hold no upsert;
- `searchable`: a plain mission, need to closed, on the dev server with the search attributes the workers upsert
  in production: {mission,milestone_1,milestone_2}_searchable.json;
- `approval`: a need above its organisation's threshold: the budget rejected, the need revised, approved, then the
  mission matched and cancelled, on the time-skipping server: mission_approval.json;
- `handover`: during the delivery, ops hand milestone 2 over to another expert by an amendment both sign; the new
  expert delivers it, the mission closes, on the time-skipping server: {mission,milestone_2}_handover.json;
- `membership`: one membership term (fee invoice, a reminder, payment confirmed by ops, renewal by
  continue-as-new): membership_renewal.json.

Until the first release, a change to a workflow re-records them (run this, commit the files). From the first
release on, the histories of every released version are kept and a change that alters the commands of a running
workflow is guarded by `workflow.patched` (README, "Changing a workflow"): never re-record a released history to
make a failing replay pass.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import store.models  # noqa: F401
from domain.dispute import AnswerDispute, DecideDispute, dispute_workflow_id
from domain.mission import (
    ApproveBudget,
    CancelMission,
    OpenDispute,
    ReassignExpert,
    RejectBudget,
    RequestRevision,
    ReviseNeed,
    SignContract,
)
from domain.money import Money
from domain.stages import MilestoneStage, Stage
from store.base import Base
from store.db import make_engine, make_session_factory
from tests.conftest import _binary, start_dev_server
from tests.workflows import flows
from tests.workflows.conftest import Harness, _harness, make_need, terms

HISTORIES = Path(__file__).resolve().parent.parent / "histories"


def _write(path: Path, text: str, events: int) -> None:
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    print(f"{path}: {events} events")


async def _save(h: Harness, scenario: str, *, disputes: int = 0) -> None:
    handles = [("mission", h.handle), ("milestone_1", h.milestone(1)), ("milestone_2", h.milestone(2))]
    handles += [
        (f"dispute_{n}", h.env.client.get_workflow_handle(dispute_workflow_id(h.mission_id, n)))
        for n in range(1, disputes + 1)
    ]
    for name, handle in handles:
        history = await handle.fetch_history()
        _write(HISTORIES / f"{name}_{scenario}.json", history.to_json(), len(history.events))


@asynccontextmanager
async def _time_skipping(task_queue: str) -> AsyncIterator[Harness]:
    """A harness on a time-skipping server of its own, with a throwaway SQLite read model."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/record.db")
        Base.metadata.create_all(engine)
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter, test_server_existing_path=_binary("temporal-test-server")
        )
        try:
            async for h in _harness(env, task_queue, make_session_factory(engine), search_attributes=False):
                yield h
        finally:
            await env.shutdown()
            engine.dispose()


async def rich() -> None:
    async with _time_skipping("record-histories") as h:
        await flows.to_delivery(h, terms("3000.00", "2000.00"))
        view = await h.state()
        assert view.selected_expert_id is not None
        await flows.deliver(h, 1)
        await h.until_milestone(1, lambda m: m.stage is MilestoneStage.IN_REVIEW)
        await h.update_milestone(1, "request_revision", RequestRevision(actor=h.client_actor, reason="add KPIs"))
        await flows.deliver(h, 1)
        await flows.accept(h, 1)
        opened = OpenDispute(actor=h.client_actor, reason="late second phase", milestone=2)
        await h.update("open_dispute", opened)
        answer = AnswerDispute(actor=h.expert(view.selected_expert_id), statement="the data came late")
        await h.update_dispute(1, "answer_dispute", answer)
        decide = DecideDispute(actor=h.ops, outcome="continue", reason="new date agreed")
        await h.update_dispute(1, "decide_dispute", decide)
        await h.until(lambda v: v.stage is Stage.DELIVERY)
        await flows.deliver(h, 2)
        await h.skip(timedelta(days=10, hours=1))  # milestone 2 accepted by silence
        await h.until(lambda v: v.stage is Stage.FEEDBACK)
        await flows.rate_both(h)
        await h.skip(timedelta(days=29, hours=12))  # payment reminders
        await flows.pay(h, 1)
        await flows.pay(h, 2)
        await h.handle.result()
        await _save(h, "rich", disputes=1)


async def searchable() -> None:
    """A plain mission, need to closed, on the dev server with our search attributes: its histories hold the
    upserts of the search attributes."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/record.db")
        Base.metadata.create_all(engine)
        env = await start_dev_server()
        try:
            async for h in _harness(env, "record-searchable", make_session_factory(engine), search_attributes=True):
                await flows.close_plainly(h)
                await _save(h, "searchable")
        finally:
            await env.shutdown()
            engine.dispose()


async def membership() -> None:
    """One membership term: fee invoice, a reminder, payment confirmed by ops, then renewal (continue-as-new)."""
    from concurrent.futures import ThreadPoolExecutor

    from temporalio.worker import Worker

    from activities.documents import DocumentActivities
    from activities.membership import MembershipActivities
    from activities.notify import NotifyActivities
    from activities.readmodel import ReadModelActivities
    from config.settings import Settings
    from documents.rendering import Renderer
    from documents.store import LocalDocumentStore
    from domain.membership import MembershipStatus
    from tests.workflows.test_membership import Members, confirm, new_organisation
    from workflows.membership import MembershipWorkflow

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/record.db")
        Base.metadata.create_all(engine)
        sessions = make_session_factory(engine)
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter, test_server_existing_path=_binary("temporal-test-server")
        )
        settings = Settings(
            environment="test", task_queue="record-membership", documents_task_queue="record-membership",
            keys_dir=Path(tmp) / "keys", document_store=f"file://{tmp}/docs",
        )  # fmt: skip
        docs = DocumentActivities(sessions, LocalDocumentStore(Path(tmp) / "docs"), Renderer(), settings)
        try:
            with ThreadPoolExecutor(max_workers=4) as pool:
                async with Worker(
                    env.client,
                    task_queue=settings.task_queue,
                    workflows=[MembershipWorkflow],
                    activities=[
                        MembershipActivities(sessions, settings).start_membership_term,
                        ReadModelActivities(sessions).write_read_model,
                        NotifyActivities(sessions).deliver_notice,
                        docs.issue_fee_invoice,
                        docs.record_fee_paid,
                    ],
                    activity_executor=pool,
                ):
                    members = Members(env, settings, sessions)
                    handle = await members.start("client_organisation", new_organisation(sessions))
                    view = await members.invoiced(handle)
                    await env.sleep(timedelta(days=8))  # the first reminder
                    await handle.execute_update(MembershipWorkflow.confirm_fee_payment, confirm(view))
                    await members.until(handle, lambda v: v.status is MembershipStatus.ACTIVE)
                    await env.sleep(timedelta(days=366))  # the term ends: renewal by continue-as-new
                    history = await env.client.get_workflow_handle(
                        handle.id, run_id=handle.result_run_id
                    ).fetch_history()
                    _write(HISTORIES / "membership_renewal.json", history.to_json(), len(history.events))
                    await members.stop_all()
        finally:
            await env.shutdown()
            engine.dispose()


async def approval() -> None:
    async with _time_skipping("record-approval") as h:
        approver = h.client_actor.model_copy(update={"org_role": "approver"})
        buyer = h.client_actor.model_copy(update={"org_role": "buyer"})
        await h.start(threshold=Money(amount=Decimal("20000.00"), currency="EUR"))
        await h.until(lambda v: v.stage is Stage.APPROVAL)
        await h.skip(timedelta(days=2, hours=1))  # the reminder to the approvers
        await h.update("reject_budget", RejectBudget(actor=approver, reason="too expensive"))
        await h.update("revise_need", ReviseNeed(actor=buyer, need=make_need(budget_max=Decimal("1300"))))
        await h.update("approve_budget", ApproveBudget(actor=approver))
        await h.until(lambda v: v.stage is Stage.SHORTLIST and bool(v.shortlist))
        await h.update("cancel", CancelMission(actor=buyer, reason="approved, but not now"))
        await h.handle.result()
        history = await h.handle.fetch_history()
        _write(HISTORIES / "mission_approval.json", history.to_json(), len(history.events))


async def handover() -> None:
    async with _time_skipping("record-handover") as h:
        view = await flows.to_delivery(h, terms("3000.00", "2000.00"))
        old, new = view.selected_expert_id, h.fakes.experts[-1]
        assert old is not None
        await flows.deliver(h, 1)
        await flows.accept(h, 1)
        await h.until(lambda v: v.milestones[0].stage is not MilestoneStage.AWAITING_DELIVERABLE)
        due = view.started_at.date() + timedelta(days=90)
        ask = ReassignExpert(actor=h.ops, from_expert_id=old, to_expert_id=new, reason="leave", due_date=due)
        await h.update("reassign_expert", ask)
        view = await h.until(lambda v: v.amendments[0].contract is not None)
        for actor in (h.client_actor, h.expert(new)):
            signing = view.amendments[0].contract
            assert signing is not None
            view = await h.update("sign_contract", SignContract(actor=actor, expected_sha256=signing.document.sha256))
        await h.until_milestone(2, lambda m: m.expert_id == new and not m.held)
        await flows.deliver(h, 2)
        await flows.accept(h, 2)
        await flows.rate_both(h)
        await flows.pay(h, 1)
        await flows.pay(h, 2)
        await h.handle.result()
        for name, handle in (("mission", h.handle), ("milestone_2", h.milestone(2))):
            history = await handle.fetch_history()
            _write(HISTORIES / f"{name}_handover.json", history.to_json(), len(history.events))


SCENARIOS = {
    "rich": rich,
    "searchable": searchable,
    "membership": membership,
    "approval": approval,
    "handover": handover,
}

if __name__ == "__main__":
    import sys

    for scenario in sys.argv[1:] or list(SCENARIOS):
        asyncio.run(SCENARIOS[scenario]())
