"""Ops repair across workflows: the needs-attention queue (missions and milestones), the retry of all of them, and
batch actions on the workflows a search-attribute query finds, with a dry-run count first.

Every action goes through `api.service.act`, one workflow at a time: the ops actions are workflow Updates whose
validators refuse what is not allowed now (with a reason) and whose handlers audit what they accept
(`workflows.readmodel.ops_audited`), which a Temporal batch operation cannot carry: the server's batch operations
signal, cancel, terminate, delete or reset, but do not send Updates (and a batch signal would skip the validators
and the per-workflow audit). So a batch lists the workflows with `list_workflows` and updates each; the batch
itself is audited once, with its query and its count.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

import anyio
from fastapi import HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.service import RPCError

from api import service
from api.deps import release_connection
from domain.actions import Scope, Who, find
from store import missions as queries
from store.models.community import User

BatchAction = Literal["resume", "pause"]
# what a batch may send: the ops updates that take only a reason
BATCH_ACTIONS: tuple[BatchAction, ...] = ("resume", "pause")
# the search attributes a batch query may use (the ones our workflows upsert), and the workflow types it reaches
ATTENTION_QUERY = 'MissionStage IN ("needs_attention", "milestone:needs_attention")'


class Parked(BaseModel):
    """A workflow waiting for a repair."""

    mission_id: uuid.UUID
    mission_title: str
    workflow_id: str
    milestone: int | None = Field(description="the milestone's number; none for the mission itself")
    reason: str
    since: str
    client_org_id: uuid.UUID | None = None
    expert_id: uuid.UUID | None = Field(default=None, description="the mission's selected expert, if any")


def parked(
    session: Session, *, limit: int = 500, client_org_id: uuid.UUID | None = None, expert_id: uuid.UUID | None = None
) -> list[Parked]:
    """Missions and milestones waiting for a repair, oldest first (from the read model's open repair tasks); only
    those of a client organisation or a selected expert when one is given."""
    return [
        Parked(
            mission_id=task.mission_id,
            mission_title=mission.title if mission is not None else "",
            workflow_id=task.workflow_id,
            milestone=queries.milestone_number(task.workflow_id),
            reason=task.title,
            since=task.opened_at.isoformat(),
            client_org_id=mission.client_org_id if mission is not None else None,
            expert_id=mission.selected_expert_id if mission is not None else None,
        )
        for task, mission in queries.parked(session, limit=limit, client_org_id=client_org_id, expert_id=expert_id)
    ]


class Outcome(BaseModel):
    workflow_id: str
    outcome: str = Field(description="done, or refused: the reason")


class BatchResult(BaseModel):
    action: str
    query: str
    count: int = Field(description="the workflows the query matched")
    done: int
    refused: int
    outcomes: list[Outcome]


async def _act_on(
    session: Session, client: Client, *, user: User, workflow_id: str, update: str, reason: str
) -> Outcome:
    """Send the ops `update` to one mission or milestone workflow, through the one service (audited there or by
    the workflow)."""
    mission_id, number = _parse(workflow_id)
    try:
        action = find(Who.OPS, update, Scope.MISSION if number is None else Scope.MILESTONE)
    except KeyError:
        return Outcome(workflow_id=workflow_id, outcome=f"refused: a milestone has no {update}: use its mission's")
    try:
        await service.act(
            session, client, user=user, mission_id=mission_id, action=action, fields={"reason": reason}, number=number
        )
    except HTTPException as exc:
        return Outcome(workflow_id=workflow_id, outcome=f"refused: {exc.detail}")
    return Outcome(workflow_id=workflow_id, outcome="done")


def _parse(workflow_id: str) -> tuple[uuid.UUID, int | None]:
    head = workflow_id.removeprefix("mission:").partition(":")[0]
    try:
        return uuid.UUID(head), queries.milestone_number(workflow_id)
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"not a mission workflow: {workflow_id}") from None


async def retry_all(session: Session, client: Client, *, user: User, reason: str) -> BatchResult:
    """Resume every parked mission and milestone (after the cause is fixed), audited as one batch and each on its
    own."""
    queue = await anyio.to_thread.run_sync(lambda: _parked_ids(session))
    outcomes = await resume_each(session, client, user=user, workflow_ids=queue, reason=reason)
    return await _finish(session, user, "retry-all", "needs attention (read model)", reason, len(queue), outcomes)


async def resume_each(
    session: Session, client: Client, *, user: User, workflow_ids: list[str], reason: str
) -> list[Outcome]:
    """Resume these parked workflows one by one (each audited by the workflow, or here when refused)."""
    return [
        await _act_on(session, client, user=user, workflow_id=wid, update="resume", reason=reason)
        for wid in workflow_ids
    ]


def _parked_ids(session: Session) -> list[str]:
    ids = [p.workflow_id for p in parked(session, limit=10_000)]
    release_connection(session)
    return ids


@dataclass(frozen=True)
class Query:
    """A visibility query over our workflows, checked: only the mission and milestone workflows are reached."""

    text: str

    @classmethod
    def of(cls, text: str) -> Query:
        text = text.strip()
        if not text:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "where: a search-attribute query is required")
        if len(text) > 1000:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "where: at most 1000 characters")
        if not text.isprintable() or not text.encode("utf-8", "replace").decode("utf-8") == text:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "where: printable text only")
        return cls(text)

    def scoped(self) -> str:
        """Running mission and milestone workflows only, whatever the query says."""
        types = "WorkflowType IN ('MissionWorkflow', 'MilestoneWorkflow')"
        return f"({self.text}) AND {types} AND ExecutionStatus = 'Running'"


def _bad_query(exc: RPCError) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"where: {exc.message}")


async def count(client: Client, query: Query) -> int:
    """The dry run: how many running mission and milestone workflows the query matches."""
    try:
        return (await client.count_workflows(query.scoped())).count
    except RPCError as exc:
        raise _bad_query(exc) from exc


async def run_batch(
    session: Session,
    client: Client,
    *,
    user: User,
    action: BatchAction,
    query: Query,
    expected: int,
    reason: str,
) -> BatchResult:
    """Send `action` to every workflow the query matches. `expected` is the count the dry run showed: a batch whose
    query matches another number now is refused (409), so ops confirm what they saw."""
    if action not in BATCH_ACTIONS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"action: one of {', '.join(BATCH_ACTIONS)}")
    matched = await count(client, query)
    if matched != expected:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"the query matches {matched} workflows now, not {expected}: count again"
        )
    try:
        ids = [w.id async for w in client.list_workflows(query.scoped())]
    except RPCError as exc:
        raise _bad_query(exc) from exc
    outcomes = [await _act_on(session, client, user=user, workflow_id=wid, update=action, reason=reason) for wid in ids]
    return await _finish(session, user, f"batch:{action}", query.text, reason, len(ids), outcomes)


async def _finish(
    session: Session, user: User, action: str, query: str, reason: str, matched: int, outcomes: list[Outcome]
) -> BatchResult:
    done = sum(o.outcome == "done" for o in outcomes)
    result = BatchResult(
        action=action, query=query, count=matched, done=done, refused=len(outcomes) - done, outcomes=outcomes
    )
    details = {"query": query, "count": str(matched), "done": str(done), "refused": str(result.refused)}
    await service.audited(session, user=user, action=action, target="batch", reason=reason, details=details)
    return result
