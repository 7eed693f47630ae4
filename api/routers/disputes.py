"""A mission's disputes beyond their actions (which `domain.actions` declares: open, answer, decide): the evidence
files the parties upload, encrypted at rest, and the state of a dispute (statements, evidence, decision), for its
parties and ops."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import Annotated

import anyio
from fastapi import APIRouter, HTTPException, Path, Response, UploadFile, status
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as StarletteUploadFile
from temporalio.service import RPCError

from api import uploads
from api.deps import CipherDep, CurrentUser, DocumentStoreDep, SessionDep, TemporalDep, VisibleMission
from api.errors import ERROR_RESPONSES
from api.gateway import http_error
from api.views import sees_documents
from config.crypto import DataCipher
from documents.store import DocumentStore
from documents.uploads import CheckedFile
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


def is_party(session: Session, mission: MissionRecord, user: User) -> bool:
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
    (kept,) = await store_evidence(session, store, cipher, mission, user, [file])
    return kept


async def store_evidence(
    session: Session,
    store: DocumentStore,
    cipher: DataCipher,
    mission: MissionRecord,
    user: User,
    files: Sequence[StarletteUploadFile],
) -> list[EvidenceRead]:
    """The files a party brings as evidence, kept all or none, the API's upload and the portal's dispute forms
    alike: every file is read and content-checked first (api.uploads: UploadRefused names the one refused, and
    nothing is kept), then each is sealed, stored and recorded, the records committed together. Only the parties of
    the contract bring evidence (ops: 403; anyone else: 404, as for a mission they cannot see)."""
    if user.role == "ops":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the parties of the contract bring evidence")
    if not await anyio.to_thread.run_sync(is_party, session, mission, user):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "mission not found")
    checked: list[CheckedFile] = []
    for file in files:  # each file's bytes dropped once checked: several files are never all in memory
        checked.append((await uploads.read_upload(file, fallback_name="evidence"))[1])
    sealed: list[tuple[str, int, str]] = []  # each file: as the store holds it (sealed), its size, its sha256
    for file in files:
        await file.seek(0)
        data = await file.read()
        stored = await anyio.to_thread.run_sync(store.put, seal_evidence(cipher, mission.id, data))
        sealed.append((stored, len(data), hashlib.sha256(data).hexdigest()))

    def record() -> list[EvidenceRead]:
        kept = []
        for what, (stored, size, sha256) in zip(checked, sealed, strict=True):
            doc = record_upload(
                session,
                kind="evidence",
                sha256=stored,
                size=size,
                media_type=what.media_type,
                file_name=what.file_name,
                mission_id=mission.id,
            )
            kept.append(
                EvidenceRead(
                    document_id=doc.id, sha256=sha256, file_name=what.file_name, media_type=what.media_type, size=size
                )
            )
        session.commit()
        return kept

    return await anyio.to_thread.run_sync(record)


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
        or not is_party(session, mission, user)
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
    if not await anyio.to_thread.run_sync(is_party, session, mission, user):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "dispute not found")
    try:
        return await workflow_client.dispute_state(client, mission.id, number)
    except RPCError as exc:
        raise http_error(exc, "dispute") from exc
