"""Missions for clients and experts: create a need, list, detail, inbox, and every human action.

Each action is a workflow Update: the workflow's validator decides (409 with its reason when it refuses); a
mission the user may not see answers 404 exactly like a missing one. Reads come from the read model; only the
full state (`/state`) asks the workflow.
"""

import uuid
from contextlib import suppress
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, Response, UploadFile, status
from pydantic import BaseModel
from pydantic_core import to_json
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from temporalio.service import RPCError

from api import gateway, service, uploads
from api.deps import (
    ClientUser,
    CurrentUser,
    DocumentStoreDep,
    SessionDep,
    SettingsDep,
    TemporalDep,
    VisibleMission,
    actor_of,
)
from api.errors import ERROR_RESPONSES
from api.routers.memberships import membership_is_active
from api.schemas.missions import (
    MilestoneSummary,
    MissionDetail,
    MissionPage,
    NeedSubmission,
    TaskRead,
    TimelineEntry,
    body_of,
)
from api.views import json_response, milestones_of, redact, sees_documents, summary_of, tasks_of, timeline_of
from domain.actions import ACTIONS, Action, Scope, Who, answers_task, find, form_hint
from domain.mission import MilestoneView, MissionView, StartMission
from domain.money import Money
from domain.org_roles import RUNS_MISSIONS, may, names
from domain.policy import Policy
from domain.taxonomy import normalise_need
from store import missions as queries
from store.access import Sight, sight_of, sights, visible
from store.models.community import IdempotencyRecord, Organisation, User
from store.models.legal import DocumentRecord
from store.models.readmodel import MissionRecord
from workflows import client as workflow_client

router = APIRouter(tags=["missions"], responses=ERROR_RESPONSES)

IDEMPOTENCY_NAMESPACE = uuid.UUID("5b0c3f44-8a55-4c55-9a39-6f3c4a0d3e21")


def form_of(task_action: str, mission_id: object) -> str:
    """The API route(s) that complete an inbox task of this kind, for this mission."""
    return form_hint(task_action).replace("{mission_id}", str(mission_id))


def task_read(task: Any) -> TaskRead:
    answer = TaskRead.model_validate(task)
    answer.form = form_of(task.action, task.mission_id)
    return answer


class CreatedMission(BaseModel):
    mission_id: uuid.UUID
    workflow_id: str
    stage: str


@router.post(
    "/missions",
    status_code=status.HTTP_201_CREATED,
    response_model=CreatedMission,
    summary="Post a need (starts the mission)",
)
async def create_mission(
    need: NeedSubmission,
    request: Request,
    user: ClientUser,
    settings: SettingsDep,
    client: TemporalDep,
    idempotency_key: Annotated[str | None, Header(max_length=200, description="retry-safe key")] = None,
) -> CreatedMission:
    """The mission id derives from the idempotency key: a retried POST finds the mission it already started.
    SQL runs in the thread pool with short sessions of its own: a pool checkout on the event loop, while the
    requests holding the connections wait for that loop, froze the API under 100 concurrent needs (bench.load)."""
    sessions = request.app.state.session_factory

    if not may(user.org_role, RUNS_MISSIONS):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"only the organisation's {names(RUNS_MISSIONS)} can post a need"
        )

    def previous_or_membership() -> tuple[CreatedMission | None, bool, Money | None]:
        with sessions() as session:
            if idempotency_key:
                previous = (
                    session.query(IdempotencyRecord).filter_by(user_id=user.id, key=idempotency_key).one_or_none()
                )
                if previous is not None:
                    return CreatedMission.model_validate(previous.body), True, None
            org = session.get(Organisation, user.organisation_id)
            threshold = None
            if org is not None and org.approval_threshold is not None and org.approval_currency:
                threshold = Money(amount=org.approval_threshold, currency=org.approval_currency)
            return None, membership_is_active(session, user.organisation_id), threshold

    previous, active, threshold = await anyio.to_thread.run_sync(previous_or_membership)
    if previous is not None:
        return previous
    if user.email_verified_at is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, service.unverified_reason(user, "post a need"))
    if not active:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "your organisation's membership is not active: pay the registration fee first"
        )
    plain = normalise_need(need.as_need())
    if threshold is not None and threshold.currency != plain.currency:  # compared in the need's currency
        threshold = settings.exchange_rates.table().convert(threshold, plain.currency)
    mission_id = uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{user.id}:{idempotency_key}") if idempotency_key else uuid.uuid4()
    assert user.organisation_id is not None
    start = StartMission(
        mission_id=mission_id,
        client_org_id=user.organisation_id,
        need=plain,
        actor=actor_of(user),
        policy=Policy(),
        approval_threshold=threshold,
        documents_task_queue=settings.documents_task_queue,
    )
    # answered once the workflow's first task is done, which wrote the mission to the read model
    view = await gateway.start_mission(client, settings, start)
    answer = CreatedMission(mission_id=mission_id, workflow_id=view.workflow_id, stage=view.stage.value)

    def remember(key: str) -> None:
        with sessions() as session:
            session.add(
                IdempotencyRecord(
                    user_id=user.id,
                    key=key,
                    status_code=201,
                    body=answer.model_dump(mode="json"),
                    created_at=datetime.now(UTC),
                )
            )
            try:
                session.commit()
            except IntegrityError:
                session.rollback()  # a concurrent retry stored it first: same mission id, same answer

    if idempotency_key:
        await anyio.to_thread.run_sync(remember, idempotency_key)
    return answer


@router.get("/missions", response_model=MissionPage, summary="List the missions I may see")
def list_missions(
    user: CurrentUser,
    session: SessionDep,
    stage: Annotated[list[str] | None, Query(description="filter by stage (repeatable)")] = None,
    deadline_before: Annotated[datetime | None, Query()] = None,
    deadline_after: Annotated[datetime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> MissionPage:
    rows, total = queries.list_missions(
        session,
        user=user,
        stages=stage,
        deadline_before=deadline_before,
        deadline_after=deadline_after,
        limit=limit,
        offset=offset,
    )
    items = [summary_of(s) for s in sights(session, user=user, missions=rows)]
    return MissionPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/missions/{mission_id}", response_model=MissionDetail, summary="Mission detail with its timeline")
async def mission_detail(mission_id: uuid.UUID, request: Request, user: CurrentUser) -> Response:
    """Served from the materialised read model in one trip to the thread pool (no workflow query)."""

    def read() -> bytes:
        with request.app.state.session_factory() as session:
            sight = visible(session, user=user, mission_id=mission_id, with_detail=True)
            if sight is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "mission not found")
            return detail_for(session, sight).model_dump_json().encode()

    return Response(await anyio.to_thread.run_sync(read), media_type="application/json")


def detail_of(session: Session, mission: MissionRecord, user: User) -> MissionDetail:
    """The user's view of the mission's detail (404 if they may not see the mission)."""
    sight = sight_of(session, user=user, mission=mission)
    if sight is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "mission not found")
    return detail_for(session, sight)


def detail_for(session: Session, sight: Sight) -> MissionDetail:
    """The party's view of the mission's materialised detail (rebuilt from the tables for a row projected before
    the detail was materialised), filtered by `api.views`."""
    mission = sight.mission
    detail = mission.detail or _detail_from_tables(session, mission)
    tasks = [t | {"form": form_of(t["action"], mission.id)} for t in tasks_of(sight, detail["open_tasks"])]
    return MissionDetail.model_validate(
        {
            "mission": summary_of(sight),
            "timeline": timeline_of(sight, detail["timeline"]),
            "milestones": milestones_of(sight, detail["milestones"]),
            "open_tasks": tasks,
        }
    )


def _detail_from_tables(session: Session, mission: MissionRecord) -> dict[str, Any]:
    def task(t: Any) -> dict[str, Any]:
        return TaskRead.model_validate(t).model_dump(mode="json") | {
            "party_id": str(t.party_id) if t.party_id else None
        }

    ops = User(role="ops")
    return {
        "timeline": [
            TimelineEntry.model_validate(e).model_dump(mode="json")
            | {"expert_id": str(e.expert_id) if e.expert_id else None}
            for e in queries.timeline(session, mission_id=mission.id)
        ],
        "milestones": [
            MilestoneSummary.model_validate(m).model_dump(mode="json")
            for m in queries.milestones(session, mission_id=mission.id)
        ],
        "open_tasks": [
            task(t)
            for role in ("client", "expert", "ops")
            for t in queries.open_tasks(session, user=ops, mission_id=mission.id, role=role)
        ],
    }


@router.get(
    "/missions/{mission_id}/state",
    response_model=MissionView,
    summary="Full state from the workflow: shortlist with explanations, proposals side by side, contract",
)
async def mission_state(mission: VisibleMission, user: CurrentUser, client: TemporalDep) -> MissionView:
    return redact(await gateway.mission_state(client, mission.id), user)


@router.get("/tasks", response_model=list[TaskRead], summary="My inbox: open tasks across all my missions")
async def inbox(request: Request, user: CurrentUser) -> Response:
    def read() -> bytes:
        cache: queries.InboxCache = request.app.state.inbox_cache
        key = queries.inbox_key(user)
        role_in_org = user.org_role or "" if user.role == "client" else ""
        cached = (*key, role_in_org)
        with request.app.state.engine.connect() as connection:
            version = queries.inbox_version(connection, key)  # first: the rows read next are as new or newer
            body = cache.get(cached, version)
            if body is not None:
                return body
            rows = queries.inbox_rows(connection, key)
        # a client member sees the tasks their role in the organisation answers (domain.actions)
        rows = [r for r in rows if answers_task(user.role, role_in_org or None, r.action)]
        # our own rows, in TaskRead's fields and order, written by pydantic-core's encoder as a TaskRead would be
        # (tests/api: the same bytes), without building a model per row first: a party with a hundred running
        # missions polls a hundred rows (bench.load: validation was a third of the inbox's CPU)
        body = to_json([r._asdict() | {"form": form_of(r.action, r.mission_id)} for r in rows])
        cache.put(cached, version, body)
        return body

    return Response(await anyio.to_thread.run_sync(read), media_type="application/json")


# --- actions ------------------------------------------------------------------------------------------------


def _party_route(action: Action) -> None:
    """The route of a party's action, from its declaration in `domain.actions`; `api.service.act` does the rest."""
    body_model = body_of(action.command, second_factor=action.needs_second_factor)

    async def mission_action(
        mission_id: uuid.UUID,
        body: body_model,  # type: ignore[valid-type]
        user: CurrentUser,
        session: SessionDep,
        settings: SettingsDep,
        client: TemporalDep,
    ) -> Response:
        view = await service.act(
            session, client, user=user, mission_id=mission_id, action=action, fields=body, settings=settings
        )
        return json_response(view)

    async def milestone_action(
        mission_id: uuid.UUID,
        number: Annotated[int, Path(ge=1, le=50, description="milestone number, from 1")],
        body: body_model,  # type: ignore[valid-type]
        user: CurrentUser,
        session: SessionDep,
        client: TemporalDep,
    ) -> Response:
        view = await service.act(
            session, client, user=user, mission_id=mission_id, action=action, fields=body, number=number
        )
        return json_response(view)

    milestone = action.scope is Scope.MILESTONE
    endpoint = milestone_action if milestone else mission_action
    endpoint.__name__ = action.name.replace(":", "_")
    router.add_api_route(
        action.route(),
        endpoint,
        methods=["POST"],
        response_model=MilestoneView if milestone else MissionView,
        summary=action.summary,
        name=action.name,
    )


# the deliverable is an upload (below): its route is written by hand, and goes through the same service
for _action in ACTIONS:
    if _action.who is not Who.OPS and _action.update != "submit_deliverable":
        _party_route(_action)


# --- documents and deliverables ----------------------------------------------------------------------------


class DocumentRead(BaseModel):
    id: uuid.UUID
    kind: str
    number: str | None
    sha256: str
    size: int
    media_type: str
    stage: str
    created_at: datetime


def _sees_contract(session: Session, mission: MissionRecord, user: User) -> bool:
    """Whether the user sees the contract: its documents and milestones (domain.visibility)."""
    sight = sight_of(session, user=user, mission=mission)
    return sight is not None and sees_documents(sight)


@router.get(
    "/missions/{mission_id}/documents", response_model=list[DocumentRead], summary="Contract, invoices, deliverables"
)
def list_documents(mission: VisibleMission, user: CurrentUser, session: SessionDep) -> list[DocumentRead]:
    if not _sees_contract(session, mission, user):
        return []
    rows = session.scalars(
        select(DocumentRecord)
        .where(DocumentRecord.mission_id == mission.id, DocumentRecord.stage != "refused")
        .order_by(DocumentRecord.created_at)
    )
    return [DocumentRead.model_validate(r, from_attributes=True) for r in rows]


@router.get(
    "/missions/{mission_id}/documents/{document_id}",
    response_class=Response,
    responses={200: {"content": uploads.DOWNLOAD_CONTENT, "description": "the document's bytes, as an attachment"}},
    summary="Download a document of the mission",
)
def download_document(
    mission: VisibleMission, document_id: uuid.UUID, user: CurrentUser, session: SessionDep, store: DocumentStoreDep
) -> Response:
    record = session.get(DocumentRecord, document_id)
    if record is None or record.mission_id != mission.id or not _sees_contract(session, mission, user):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "document not found")
    return uploads.document_response(record, store.get(record.sha256))


@router.post(
    "/missions/{mission_id}/milestones/{number}/deliverable",
    response_model=MilestoneView,
    summary="Upload the milestone's deliverable (expert)",
    description=uploads.UPLOAD_DESCRIPTION,
)
async def submit_deliverable(
    mission: VisibleMission,
    number: Annotated[int, Path(ge=1, le=50)],
    file: UploadFile,
    user: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    store: DocumentStoreDep,
) -> MilestoneView:
    deliver = find(Who.EXPERT, "submit_deliverable", Scope.MILESTONE)
    if not deliver.who.allows(user.role):  # before the file is stored
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the expert delivers")
    if not await anyio.to_thread.run_sync(_sees_contract, session, mission, user):
        # a losing candidate learns nothing of the contract's milestones, and stores nothing: as a missing one
        raise HTTPException(status.HTTP_404_NOT_FOUND, "milestone not found")
    data, checked = await uploads.read_upload(file, fallback_name=f"deliverable-{number}")
    sha256 = await anyio.to_thread.run_sync(store.put, data)
    # The record is committed before the update (the workflow's projection writes the same database, and SQLite
    # has one writer); its stage then says whether the workflow took it. A retry after a lost answer (503) sends
    # the same file again: it reuses the record left "uploaded", so the mission never lists the file twice. SQL
    # runs in the thread pool: a pool checkout on the event loop can freeze the API under load (bench.load).

    def upload_record() -> DocumentRecord:
        record = session.scalars(
            select(DocumentRecord).where(
                DocumentRecord.mission_id == mission.id,
                DocumentRecord.kind == "deliverable",
                DocumentRecord.sha256 == sha256,
                DocumentRecord.stage == "uploaded",
            )
        ).first()
        if record is None:
            record = DocumentRecord(
                kind="deliverable",
                sha256=sha256,
                size=len(data),
                media_type=checked.media_type,
                file_name=checked.file_name,
                mission_id=mission.id,
                language="en",
                stage="uploaded",
            )
            session.add(record)
        session.commit()
        return record

    def set_stage(stage: str) -> None:
        record.stage = stage
        session.commit()

    record = await anyio.to_thread.run_sync(upload_record)
    fields = {"document_id": record.id, "sha256": sha256}
    try:
        view = await service.act(
            session, client, user=user, mission_id=mission.id, action=deliver, fields=fields, number=number
        )
    except HTTPException as exc:
        if exc.status_code == status.HTTP_409_CONFLICT:  # refused, or taken by the attempt whose answer was lost?
            with suppress(HTTPException, RPCError):
                view = await workflow_client.milestone_state(client, mission.id, number)
                if view.deliverable_document_id == record.id:
                    await anyio.to_thread.run_sync(set_stage, "submitted")
                    return view
        # 503: the engine did not answer and may have taken it: the record stays "uploaded" (found by tests/faults)
        if exc.status_code != status.HTTP_503_SERVICE_UNAVAILABLE:
            await anyio.to_thread.run_sync(set_stage, "refused")
        raise
    await anyio.to_thread.run_sync(set_stage, "submitted")
    return view
