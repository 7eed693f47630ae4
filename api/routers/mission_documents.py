"""A mission's documents for its parties: the contract, invoices and deliverables listed and downloaded, and the
expert's upload of a milestone's deliverable (the one action whose route is written by hand: its body is a file).

Only the parties who see the contract see its documents (`domain.visibility`): a losing candidate learns nothing of
them, as if there were none.
"""

import uuid
from contextlib import suppress
from datetime import datetime
from typing import Annotated

import anyio
from fastapi import APIRouter, HTTPException, Path, Response, UploadFile, status
from pydantic import BaseModel
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session
from temporalio.service import RPCError

from api import service, uploads
from api.deps import CurrentUser, DocumentStoreDep, SessionDep, TemporalDep, VisibleMission
from api.errors import ERROR_RESPONSES
from api.views import sees_documents
from domain.actions import Scope, Who, find
from domain.mission import MilestoneView
from domain.visibility import sees_own_part
from store.access import sight_of
from store.documents import record_upload
from store.models.community import User
from store.models.legal import DocumentRecord, InvoiceRecord
from store.models.readmodel import MissionRecord
from workflows import client as workflow_client

router = APIRouter(tags=["missions"], responses=ERROR_RESPONSES)


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


def _documents_seen(session: Session, mission: MissionRecord, user: User) -> Select[tuple[DocumentRecord]] | None:
    """The query of the mission's documents this user may see, None if none (domain.visibility): the whole contract's
    for its parties (an expert: the invoices they issued only); for a party to a handover, the contract and its
    amendments and the invoices that are theirs."""
    sight = sight_of(session, user=user, mission=mission)
    if sight is None or not (sees_documents(sight) or sees_own_part(sight.standing)):
        return None
    query = select(DocumentRecord).where(
        DocumentRecord.mission_id == mission.id,
        DocumentRecord.stage != "refused",
        DocumentRecord.kind != "evidence",  # a dispute's, encrypted: GET /missions/{id}/evidence/{document_id}
    )
    if sight.viewer.role != "expert":
        return query
    # an expert sees the invoices they issued, never another expert's (a handover: its seller's bank details)
    invoices = select(InvoiceRecord.document_id).where(
        InvoiceRecord.mission_id == mission.id, InvoiceRecord.document_id.is_not(None)
    )
    mine = invoices.where(InvoiceRecord.seller_ref == f"expert:{sight.viewer.expert_id}")
    if sees_documents(sight):
        return query.where(or_(DocumentRecord.id.not_in(invoices), DocumentRecord.id.in_(mine)))
    return query.where(or_(DocumentRecord.kind == "contract", DocumentRecord.id.in_(mine)))


@router.get(
    "/missions/{mission_id}/documents", response_model=list[DocumentRead], summary="Contract, invoices, deliverables"
)
def list_documents(mission: VisibleMission, user: CurrentUser, session: SessionDep) -> list[DocumentRead]:
    query = _documents_seen(session, mission, user)
    if query is None:
        return []
    rows = session.scalars(query.order_by(DocumentRecord.created_at))
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
    if record is not None and record.kind == "evidence":  # stored encrypted: its own route opens it
        raise HTTPException(status.HTTP_404_NOT_FOUND, "document not found: evidence is at /evidence/{document_id}")
    query = _documents_seen(session, mission, user)
    if record is None or query is None or session.scalar(query.where(DocumentRecord.id == document_id)) is None:
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
            record = record_upload(
                session,
                kind="deliverable",
                sha256=sha256,
                size=len(data),
                media_type=checked.media_type,
                file_name=checked.file_name,
                mission_id=mission.id,
            )
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
                taken = await workflow_client.milestone_state(client, mission.id, number)
                if taken.deliverable_document_id == record.id:
                    await anyio.to_thread.run_sync(set_stage, "submitted")
                    return taken
        # 503: the engine did not answer and may have taken it: the record stays "uploaded" (found by tests/faults)
        if exc.status_code != status.HTTP_503_SERVICE_UNAVAILABLE:
            await anyio.to_thread.run_sync(set_stage, "refused")
        raise
    await anyio.to_thread.run_sync(set_stage, "submitted")
    assert isinstance(view, MilestoneView)  # an action on a milestone answers the milestone's state
    return view
