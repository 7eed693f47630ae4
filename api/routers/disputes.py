"""A mission's disputes beyond their actions (which `domain.actions` declares: open, answer, decide): the evidence
files the parties upload, encrypted at rest, and the state of a dispute (statements, evidence, decision), for its
parties and ops."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated

import anyio
from fastapi import APIRouter, HTTPException, Path, Response, UploadFile, status
from pydantic import BaseModel
from sqlalchemy.orm import Session
from temporalio.service import RPCError

from api import uploads
from api.deps import CipherDep, CurrentUser, DocumentStoreDep, SessionDep, TemporalDep, VisibleMission
from api.errors import ERROR_RESPONSES
from api.gateway import http_error
from api.views import sees_documents
from config.crypto import DataCipher
from domain.dispute import DisputeView
from store.access import sight_of
from store.documents import record_upload
from store.models.community import User
from store.models.legal import DocumentRecord
from store.models.readmodel import MissionRecord
from workflows import client as workflow_client

router = APIRouter(tags=["disputes"], responses=ERROR_RESPONSES)

SEALED = b"innot-sealed-v1:"  # an evidence file in the document store: this prefix, the key id, ':', nonce+ciphertext


class EvidenceRead(BaseModel):
    document_id: uuid.UUID
    sha256: str  # of the file as uploaded (the store holds it encrypted)
    file_name: str
    media_type: str
    size: int


def _context(mission_id: uuid.UUID) -> bytes:
    return f"evidence:{mission_id}".encode()


def seal_evidence(cipher: DataCipher, mission_id: uuid.UUID, data: bytes) -> bytes:
    key_id, sealed = cipher.encrypt(data, associated=_context(mission_id))
    return SEALED + key_id.encode() + b":" + sealed


def open_evidence(cipher: DataCipher, mission_id: uuid.UUID, blob: bytes) -> bytes:
    key_id, _, sealed = blob.removeprefix(SEALED).partition(b":")
    return cipher.decrypt(key_id.decode(), sealed, associated=_context(mission_id))


def _party(session: Session, mission: MissionRecord, user: User) -> bool:
    """The parties of the contract (the client's members, the selected expert) and ops."""
    if user.role == "ops":
        return True
    sight = sight_of(session, user=user, mission=mission)
    return sight is not None and sees_documents(sight)


@router.post(
    "/missions/{mission_id}/evidence",
    response_model=EvidenceRead,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a file as evidence for a dispute (then name it in `evidence` of the dispute or the answer)",
    description=uploads.UPLOAD_DESCRIPTION + " Stored encrypted.",
)
async def upload_evidence(
    mission: VisibleMission,
    file: UploadFile,
    user: CurrentUser,
    session: SessionDep,
    store: DocumentStoreDep,
    cipher: CipherDep,
) -> EvidenceRead:
    if user.role == "ops":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the parties of the contract bring evidence")
    if not await anyio.to_thread.run_sync(_party, session, mission, user):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "mission not found")
    data, checked = await uploads.read_upload(file, fallback_name="evidence")
    blob = seal_evidence(cipher, mission.id, data)
    stored = await anyio.to_thread.run_sync(store.put, blob)

    def record() -> DocumentRecord:
        doc = record_upload(
            session,
            kind="evidence",
            sha256=stored,
            size=len(data),
            media_type=checked.media_type,
            file_name=checked.file_name,
            mission_id=mission.id,
        )
        session.commit()
        return doc

    doc = await anyio.to_thread.run_sync(record)
    return EvidenceRead(
        document_id=doc.id,
        sha256=hashlib.sha256(data).hexdigest(),
        file_name=checked.file_name,
        media_type=checked.media_type,
        size=len(data),
    )


@router.get(
    "/missions/{mission_id}/evidence/{document_id}",
    response_class=Response,
    responses={200: {"content": uploads.DOWNLOAD_CONTENT, "description": "the evidence file, as an attachment"}},
    summary="Download an evidence file (the parties and ops)",
)
def download_evidence(
    mission: VisibleMission,
    document_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    store: DocumentStoreDep,
    cipher: CipherDep,
) -> Response:
    record = session.get(DocumentRecord, document_id)
    if (
        record is None
        or record.mission_id != mission.id
        or record.kind != "evidence"
        or not _party(session, mission, user)
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "evidence not found")
    data = open_evidence(cipher, mission.id, store.get(record.sha256))
    response = uploads.document_response(record, data)
    response.headers["X-Content-SHA256"] = hashlib.sha256(data).hexdigest()
    return response


@router.get(
    "/missions/{mission_id}/disputes/{number}",
    response_model=DisputeView,
    summary="A dispute: the statements, their evidence, the answer deadline, ops' decision",
)
async def read_dispute(
    mission: VisibleMission,
    number: Annotated[int, Path(ge=1, le=50, description="dispute number, from 1")],
    user: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
) -> DisputeView:
    if not await anyio.to_thread.run_sync(_party, session, mission, user):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "dispute not found")
    try:
        return await workflow_client.dispute_state(client, mission.id, number)
    except RPCError as exc:
        raise http_error(exc, "dispute") from exc
