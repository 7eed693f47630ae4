"""Client and expert pages of a mission: dashboard, new need, the mission page, its actions and messages."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any, cast

from fastapi import APIRouter, HTTPException, Request
from fastapi import UploadFile as FastApiUploadFile
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import UploadFile
from temporalio.service import RPCError

from api import gateway, uploads
from api.deps import SessionDep, SettingsDep
from api.routers import disputes, mission_documents, missions
from api.routers import messages as message_routes
from api.schemas.messages import MessageCreate
from api.schemas.missions import MissionSummary, NeedSubmission
from api.views import redact, summary_of
from api.web import actions, forms
from api.web.core import CsrfChecked, WebUser, error_text, function_choices, language_of, redirect, render, require
from api.web.i18n import translations
from api.web.pickers import field_messages
from api.web.tracker import ExpertCard, current_proposals, expert_card, tracker_of
from documents.uploads import ACCEPTED
from domain.actions import Scope, Who, answers_task, find
from domain.dispute import AnswerDispute, DisputeView
from domain.mission import MissionView, OpenDispute, PendingAction, Proposal
from domain.need import Need
from domain.stages import Stage
from store import messaging
from store import missions as queries
from store.access import sights, visible, visible_mission
from store.models.community import Expert, Membership, User
from store.models.legal import DocumentRecord
from store.models.readmodel import MissionRecord
from workflows import client as workflow_client

router = APIRouter(prefix="/portal/missions", include_in_schema=False)
NEED_FIELDS = tuple(NeedSubmission.model_fields)

STAGE_ORDER = [s.value for s in Stage]


@router.get("")
def dashboard(request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "client", "expert")
    rows, _total = queries.list_missions(session, user=user, limit=200)
    by_stage: dict[str, list[MissionSummary]] = defaultdict(list)
    for sight in sights(session, user=user, missions=rows):
        by_stage[sight.mission.stage].append(summary_of(sight))
    stages = sorted(by_stage, key=lambda s: STAGE_ORDER.index(s) if s in STAGE_ORDER else len(STAGE_ORDER))
    member_id = user.organisation_id if user.role == "client" else user.expert_id
    membership = session.scalar(select(Membership).where(Membership.member_id == member_id))
    tasks = queries.open_tasks(session, user=user)
    titles = {r.id: r.title for r in rows}
    return render(
        request,
        "dashboard.html",
        user,
        stages=[(s, by_stage[s]) for s in stages],
        tasks=tasks,
        titles=titles,
        membership_active=membership is not None and membership.status == "active",
    )


@router.get("/new")
def new_need_page(request: Request, user: WebUser) -> Response:
    require(user, "client")
    lang = language_of(request, user)
    values = {"remote": "on", "confidential": "on", "currency": "EUR", "mission_language": lang, "languages": lang}
    return render(
        request, "need_new.html", user, values=values, functions=function_choices(lang), key=str(uuid.uuid4())
    )


@router.post("/new", dependencies=[CsrfChecked])
async def post_need(request: Request, user: WebUser, session: SessionDep, settings: SettingsDep) -> Response:
    require(user, "client")
    form = await request.form()
    lang = language_of(request, user)
    try:
        need = forms.need(form)
        client = await actions.temporal_of(request)
        created = await missions.create_mission(
            need, request, user, settings, client, idempotency_key=forms.text(form, "idempotency_key") or None
        )
    except (ValidationError, HTTPException) as exc:
        return render(
            request,
            "need_new.html",
            user,
            status_code=422,
            values=forms.values(form),
            functions=function_choices(lang),
            key=forms.text(form, "idempotency_key") or str(uuid.uuid4()),
            flash=("error", error_text(exc)),
            field_errors=field_messages(exc, NEED_FIELDS),
        )
    return redirect(
        request,
        f"/portal/missions/{created.mission_id}",
        ok=translations(lang).gettext("Your need is posted: matching experts now."),
    )


def _mission_or_404(session: Any, user: User, mission_id: uuid.UUID) -> MissionRecord:
    mission = visible_mission(session, user=user, mission_id=mission_id)
    if mission is None:
        raise HTTPException(404, "mission not found")
    return mission


def _mine(actions_: list[PendingAction], user: User) -> set[str]:
    """The pending actions this user may answer: their party's, and for a client member, their role's."""
    party = user.organisation_id if user.role == "client" else user.expert_id
    return {
        a.action
        for a in actions_
        if a.role.value == user.role and a.party_id == party and answers_task(user.role, user.org_role, a.action)
    }


def _need_values(need: Need) -> dict[str, str]:
    """The need as its form shows it, to revise it."""
    data = need.model_dump(mode="json")
    listed = {k: ", ".join(data[k]) for k in ("skills", "languages", "countries")}
    flags = {k: "on" if data[k] else "" for k in ("remote", "confidential")}
    return {k: str(v) for k, v in data.items()} | listed | flags


def _names(session: Any, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = session.execute(select(Expert.id, Expert.display_name).where(Expert.id.in_(ids)))
    return {expert_id: name for expert_id, name in rows}


def compared_proposals(
    session: Any, view: MissionView | None, lang: str
) -> tuple[list[Proposal], dict[uuid.UUID, ExpertCard]]:
    """What `_proposals.html` shows side by side: the current round's proposals of this view (redacted for a client
    or an expert, whole for ops), and the public profile summary and reputation of each proposing expert."""
    proposals = current_proposals(view) if view is not None else []
    ids = {p.expert_id for p in proposals}
    if not ids:
        return proposals, {}
    experts = session.scalars(select(Expert).where(Expert.id.in_(ids)))
    return proposals, {e.id: expert_card(e, lang) for e in experts}


@router.get("/{mission_id}")
async def mission_page(mission_id: uuid.UUID, request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "client", "expert")
    sight = visible(session, user=user, mission_id=mission_id)
    if sight is None:
        message = translations(language_of(request, user)).gettext("Mission not found.")
        return render(request, "error.html", user, status_code=404, message=message)
    mission, summary = sight.mission, summary_of(sight)
    detail = missions.detail_for(session, sight)
    view: MissionView | None = None
    try:
        client = await actions.temporal_of(request)
        view = redact(await gateway.mission_state(client, mission.id), user)
    except HTTPException:
        view = None
    documents = mission_documents.list_documents(mission, user, session)
    doc_by_sha = {d.sha256: d for d in documents}
    ids: set[uuid.UUID] = set()
    if view is not None:
        ids |= {c.expert_id for c in view.shortlist + view.reserve}
        ids |= {i.expert_id for i in view.invitations} | {p.expert_id for p in view.proposals}
        ids |= {e for a in view.amendments for e in (a.from_expert_id, a.to_expert_id)}
    if summary.selected_expert_id:
        ids.add(summary.selected_expert_id)
    names = _names(session, ids)
    lang = language_of(request, user)
    proposals, cards = compared_proposals(session, view, lang)
    threads: list[tuple[uuid.UUID, list[messaging.PlainMessage]]] = []
    partners = [user.expert_id] if user.role == "expert" else sorted(names, key=lambda e: names[e])
    for expert_id in partners:
        if expert_id is None:
            continue
        try:
            messaging.check_participant(session, user=user, mission=mission, expert_id=expert_id)
        except messaging.NotAParticipant:
            continue
        threads.append(
            (expert_id, messaging.read(session, request.app.state.cipher, mission=mission, expert_id=expert_id))
        )
    shown_disputes, evidence = await _disputes(request, session, mission, user, view)
    my_actions = _mine(view.pending_actions, user) if view else set()
    if view is not None and shown_disputes and shown_disputes[-1].number == view.disputes:  # the latest one's too
        my_actions |= _mine(shown_disputes[-1].pending_actions, user)
    rating_to_answer = _rating_to_answer(view, user)
    milestone_actions = {m.number: _mine(m.pending_actions, user) for m in view.milestones} if view else {}
    return render(
        request,
        "mission.html",
        user,
        mission=summary,
        detail=detail,
        view=view,
        names=names,
        documents=documents,
        doc_by_sha=doc_by_sha,
        threads=threads,
        my_actions=my_actions,
        milestone_actions=milestone_actions,
        rating_to_answer=rating_to_answer,
        may_cancel=find(Who.PARTY, "cancel").allows(user.role, user.org_role),
        values=_need_values(view.need) if view and my_actions & {"need_details", "revise_budget"} else {},
        functions=function_choices(lang),
        today=date.today().isoformat(),
        tracker=tracker_of(view, user, lang, names) if view is not None else None,
        proposals=proposals,
        cards=cards,
        disputes=shown_disputes,
        evidence=evidence,
        accepted_types=ACCEPTED,
        most_evidence={
            "open": actions.most_evidence(OpenDispute),
            "answer": actions.most_evidence(AnswerDispute),
        },
    )


async def _disputes(
    request: Request, session: Any, mission: MissionRecord, user: User, view: MissionView | None
) -> tuple[list[DisputeView], dict[uuid.UUID, DocumentRecord]]:
    """The mission's disputes as their parties read them (the API's GET /missions/{id}/disputes/{n}: statements,
    evidence, decision), with the records of their evidence files (names, sizes); none if the engine is away."""
    if view is None or not view.disputes or not disputes.is_party(session, mission, user):
        return [], {}
    client = await actions.temporal_of(request)

    async def state(number: int) -> DisputeView | None:
        try:
            return await workflow_client.dispute_state(client, mission.id, number)
        except RPCError:
            return None

    found = [d for d in await asyncio.gather(*map(state, range(1, view.disputes + 1))) if d is not None]
    ids = {e.document_id for d in found for s in (d.opened, d.answer) if s is not None for e in s.evidence}
    records = session.scalars(
        select(DocumentRecord).where(
            DocumentRecord.id.in_(ids), DocumentRecord.mission_id == mission.id, DocumentRecord.kind == "evidence"
        )
    )
    return found, {r.id: r for r in records}


def _rating_to_answer(view: MissionView | None, user: User) -> str | None:
    """Who gave the revealed rating this user's side may still answer ('client' or 'expert'), if any."""
    if view is None or not view.ratings_revealed or user.role not in ("client", "expert"):
        return None
    if view.replies_until is not None and datetime.now(UTC) > view.replies_until:
        return None
    other = "expert" if user.role == "client" else "client"
    rating = next((r for r in view.ratings if r.by == other), None)
    return other if rating is not None and rating.replied_at is None else None


def _back(form: Any, mission_id: uuid.UUID) -> str:
    back = forms.text(form, "back")
    return back if back.startswith("/portal/") else f"/portal/missions/{mission_id}"


def refused_text(exc: uploads.UploadRefused, lang: str) -> str:
    """A file refused at upload, named, and why, in the reader's language (a type refused: the check's own words)."""
    gettext = translations(lang).gettext
    why = {"too_large": gettext("it is larger than 25 MB"), "empty": gettext("it is empty")}.get(exc.problem)
    return gettext("“%(name)s” was not accepted: %(why)s. Nothing was sent: remove or replace it, then send again.") % {
        "name": exc.file_name,
        "why": why or exc.reason,
    }


@router.post("/{mission_id}/act/{update}", dependencies=[CsrfChecked])
async def mission_action(
    mission_id: uuid.UUID, update: str, request: Request, user: WebUser, session: SessionDep
) -> Response:
    form = await request.form()
    back = _back(form, mission_id)
    lang = language_of(request, user)
    try:
        action = actions.action_for(user, update, Scope.MISSION)
        await actions.perform(request, session, user, mission_id=mission_id, action=action, form=form)
    except uploads.UploadRefused as exc:
        return redirect(request, back, error=refused_text(exc, lang))
    except (ValidationError, HTTPException) as exc:
        return redirect(request, back, error=error_text(exc))
    finally:
        await form.close()
    return redirect(request, back, ok=translations(lang).gettext("Done."))


@router.post("/{mission_id}/milestones/{number}/deliverable", dependencies=[CsrfChecked])
async def upload_deliverable(
    mission_id: uuid.UUID, number: int, request: Request, user: WebUser, session: SessionDep
) -> Response:
    form = await request.form()
    back = _back(form, mission_id)
    upload = form.get("file")
    try:
        mission = _mission_or_404(session, user, mission_id)
        if isinstance(upload, str) or upload is None or not upload.filename:
            raise HTTPException(422, "file: choose a file to upload")
        client = await actions.temporal_of(request)
        store = request.app.state.document_store
        await deliver(mission, number, upload, user, session, client, store)
    except uploads.UploadRefused as exc:
        return redirect(request, back, error=refused_text(exc, language_of(request, user)))
    except HTTPException as exc:
        return redirect(request, back, error=error_text(exc))
    finally:
        await form.close()
    return redirect(request, back, ok=translations(language_of(request, user)).gettext("Done."))


async def deliver(
    mission: MissionRecord, number: int, upload: UploadFile, user: User, session: Any, client: Any, store: Any
) -> None:
    """The API's upload: same types, size limit, document record and workflow update."""
    # a form's upload is Starlette's UploadFile; FastAPI's only adds schema hooks
    file = cast(FastApiUploadFile, upload)
    await mission_documents.submit_deliverable(
        mission=mission, number=number, file=file, user=user, session=session, client=client, store=store
    )


@router.post("/{mission_id}/milestones/{number}/{update}", dependencies=[CsrfChecked])
async def milestone_action(
    mission_id: uuid.UUID, number: int, update: str, request: Request, user: WebUser, session: SessionDep
) -> Response:
    form = await request.form()
    back = _back(form, mission_id)
    try:
        action = actions.action_for(user, update, Scope.MILESTONE)
        await actions.perform(request, session, user, mission_id=mission_id, action=action, form=form, number=number)
    except (ValidationError, HTTPException) as exc:
        return redirect(request, back, error=error_text(exc))
    return redirect(request, back, ok=translations(language_of(request, user)).gettext("Done."))


@router.post("/{mission_id}/disputes/{number}/{update}", dependencies=[CsrfChecked])
async def dispute_action(
    mission_id: uuid.UUID, number: int, update: str, request: Request, user: WebUser, session: SessionDep
) -> Response:
    form = await request.form()
    back = _back(form, mission_id)
    lang = language_of(request, user)
    try:
        action = actions.action_for(user, update, Scope.DISPUTE)
        await actions.perform(request, session, user, mission_id=mission_id, action=action, form=form, number=number)
    except uploads.UploadRefused as exc:
        return redirect(request, back, error=refused_text(exc, lang))
    except (ValidationError, HTTPException) as exc:
        return redirect(request, back, error=error_text(exc))
    finally:
        await form.close()
    return redirect(request, back, ok=translations(lang).gettext("Done."))


@router.get("/{mission_id}/documents/{document_id}")
def download(
    mission_id: uuid.UUID,
    document_id: uuid.UUID,
    request: Request,
    user: WebUser,
    session: SessionDep,
    inline: bool = False,
) -> Response:
    """The document, as an attachment; `?inline=true` previews a PDF the platform issued (the contract) in the page."""
    mission = _mission_or_404(session, user, mission_id)
    result: Response = mission_documents.download_document(
        mission, document_id, user, session, request.app.state.document_store
    )
    return uploads.shown_inline(result) if inline else result


@router.get("/{mission_id}/evidence/{document_id}")
def download_evidence(
    mission_id: uuid.UUID, document_id: uuid.UUID, request: Request, user: WebUser, session: SessionDep
) -> Response:
    """An evidence file of the mission's disputes, opened from the store as the API's route opens it."""
    mission = _mission_or_404(session, user, mission_id)
    state = request.app.state
    return disputes.download_evidence(mission, document_id, user, session, state.document_store, state.cipher)


@router.post("/{mission_id}/threads/{expert_id}", dependencies=[CsrfChecked])
async def post_message(
    mission_id: uuid.UUID, expert_id: uuid.UUID, request: Request, user: WebUser, session: SessionDep
) -> Response:
    form = await request.form()
    back = f"/portal/missions/{mission_id}#thread-{expert_id}"
    try:
        mission = _mission_or_404(session, user, mission_id)
        body = MessageCreate(body=forms.text(form, "body"))
        message_routes.post_message(body, mission, expert_id, user, session, request.app.state.cipher)
    except (ValidationError, HTTPException) as exc:
        return redirect(request, back, error=error_text(exc))
    return redirect(request, back)
