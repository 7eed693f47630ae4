"""Missions for clients and experts: create a need, list, detail, inbox, and the route of every party action.

Each action is a workflow Update, its route generated from `domain.actions` (`api.routers.action_routes`): the
workflow's validator decides (409 with its reason when it refuses); a mission the user may not see answers 404 exactly
like a missing one. Reads come from the read model; only the full state (`/state`) asks the workflow. The mission's
documents and the deliverable's upload: `api.routers.mission_documents`.
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, HTTPException, Query, Request, Response, status
from pydantic import BaseModel
from pydantic_core import to_json
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from activities import timeline as projection
from api import gateway, service
from api.deps import ClientUser, CurrentUser, SessionDep, SettingsDep, TemporalDep, VisibleMission, actor_of
from api.errors import ERROR_RESPONSES
from api.routers.action_routes import add_action_routes
from api.routers.memberships import membership_is_active, qualification_required
from api.schemas.missions import (
    MissionDetail,
    MissionPage,
    NeedSubmission,
    TaskRead,
)
from api.views import milestones_of, ratings_of, redact, summary_of, tasks_of, timeline_of
from domain.actions import ACTIONS, Who, answers_task, form_hint
from domain.mission import MissionView, StartMission
from domain.money import Money
from domain.org_roles import RUNS_MISSIONS, may, names
from domain.policy import Policy
from domain.taxonomy import normalise_need
from store import missions as queries
from store.access import Sight, sight_of, sights, visible
from store.models.community import IdempotencyRecord, Organisation, User
from store.models.readmodel import MissionRecord

router = APIRouter(tags=["missions"], responses=ERROR_RESPONSES)

IDEMPOTENCY_NAMESPACE = uuid.UUID("5b0c3f44-8a55-4c55-9a39-6f3c4a0d3e21")


def form_of(task_action: str, mission_id: object, workflow_id: str = "") -> str:
    """The API route(s) that complete an inbox task of this kind, for this mission; a milestone's task (its
    workflow id names the milestone) points at the milestone's routes, a mission's at the mission's."""
    hint = form_hint(task_action)
    _, sep, number = workflow_id.partition(":milestone:")
    routes = hint.removeprefix("POST ").split(" | ") if hint else []
    if workflow_id and routes:
        chosen = [r for r in routes if ("{number}" in r) == bool(sep)]
        hint = "POST " + " | ".join(chosen) if chosen else hint
    return hint.replace("{mission_id}", str(mission_id)).replace("{number}", number if sep else "{number}")


def task_read(task: Any) -> TaskRead:
    answer = TaskRead.model_validate(task)
    answer.form = form_of(task.action, task.mission_id, getattr(task, "workflow_id", "") or "")
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

    def previous_or_membership() -> tuple[CreatedMission | None, bool, bool, Money | None]:
        with sessions() as session:
            if idempotency_key:
                previous = (
                    session.query(IdempotencyRecord).filter_by(user_id=user.id, key=idempotency_key).one_or_none()
                )
                if previous is not None:
                    return CreatedMission.model_validate(previous.body), True, False, None
            org = session.get(Organisation, user.organisation_id)
            threshold = None
            if org is not None and org.approval_threshold is not None and org.approval_currency:
                threshold = Money(amount=org.approval_threshold, currency=org.approval_currency)
            qualify = qualification_required(session, user.organisation_id)
            return None, membership_is_active(session, user.organisation_id), qualify, threshold

    previous, active, qualify, threshold = await anyio.to_thread.run_sync(previous_or_membership)
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
        policy=Policy(qualification_required=qualify),
        approval_threshold=threshold,
        documents_task_queue=settings.documents_task_queue,
    )
    # answered once the need is in the read model (update-with-start: workflows.client.open_mission)
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
    """The party's view of the mission's materialised detail (built from the tables for a row whose detail a
    migration cleared), filtered by `api.views`."""
    mission = sight.mission
    detail = mission.detail or projection.mission_detail(session.connection(), mission.id)
    tasks = [
        t | {"form": form_of(t["action"], mission.id, t.get("workflow_id") or "")}
        for t in tasks_of(sight, detail["open_tasks"])
    ]
    return MissionDetail.model_validate(
        {
            "mission": summary_of(sight),
            "timeline": timeline_of(sight, detail["timeline"]),
            "milestones": milestones_of(sight, detail["milestones"]),
            "open_tasks": tasks,
            "ratings": ratings_of(sight, queries.ratings(session, mission_id=mission.id)),
        }
    )


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
        body = to_json([r._asdict() | {"form": form_of(r.action, r.mission_id, r.workflow_id)} for r in rows])
        cache.put(cached, version, body)
        return body

    return Response(await anyio.to_thread.run_sync(read), media_type="application/json")


# --- actions: one route per party action of `domain.actions` (the deliverable's upload: mission_documents) ------


add_action_routes(router, (a for a in ACTIONS if a.who is not Who.OPS and a.update != "submit_deliverable"))
