"""Onboarding: a member gives its legal data and proof documents and submits them; ops review them from a queue
(`/ops/members`), approve or ask for changes (workflow updates of MembershipWorkflow: a refusal is a 409 with its
reason). A member sees only its own onboarding; only ops see the queue and a member's proofs (each read audited).
The proofs are content-checked (documents.uploads) and sealed with the data key before they reach the store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, HTTPException, Path, Query, Response, UploadFile, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client

from api import uploads
from api.deps import (
    CipherDep,
    CurrentUser,
    DocumentStoreDep,
    OpsUser,
    SessionDep,
    TemporalDep,
    actor_of,
    release_connection,
)
from api.errors import ERROR_RESPONSES
from api.gateway import UPDATE_ERRORS, http_error
from api.routers.memberships import member_id_of
from api.schemas.onboarding import (
    Approval,
    ChangeRequest,
    LegalDataIn,
    OnboardingRead,
    OrganisationSettings,
    ProofRead,
    QueuedMemberRead,
    VersionRead,
)
from config.crypto import DataCipher
from documents.store import DocumentStore
from domain.membership import MembershipView, membership_workflow_id
from domain.onboarding import PROOF_KINDS, ApproveLegalData, ProofKind, RequestLegalChanges, SubmitLegalData
from store import onboarding as repo
from store.documents import record_upload
from store.models.community import AuditEntry, Membership, Organisation, User
from store.models.legal import DocumentRecord
from store.models.onboarding import LegalVersion, MemberDocument

router = APIRouter(tags=["onboarding"], responses=ERROR_RESPONSES)
QueueStatus = Literal["profile", "awaiting_review", "changes_requested", "awaiting_fee", "active", "lapsed", "expired"]


def _membership(session: Session, member_id: uuid.UUID) -> Membership:
    membership = session.scalar(select(Membership).where(Membership.member_id == member_id))
    if membership is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "member not found")
    return membership


def _read(session: Session, membership: Membership) -> OnboardingRead:
    member_id, community = membership.member_id, membership.community
    return OnboardingRead(
        member_id=member_id,
        community=community,
        status=membership.onboarding_status or "approved",
        queue_status=repo.queue_status(membership),
        due_at=membership.onboarding_due_at,
        reason=membership.onboarding_reason or "",
        missing=repo.missing(session, community, member_id),
        in_force=repo.current_legal_data(session, community, member_id),
        versions=[VersionRead.model_validate(v) for v in repo.versions(session, member_id)],
        documents=[_proof(session, d) for d in repo.documents(session, member_id)],
    )


def _proof(session: Session, d: MemberDocument) -> ProofRead:
    record = session.get_one(DocumentRecord, d.document_id)
    return ProofRead(id=d.id, kind=d.kind, file_name=record.file_name, media_type=record.media_type,
                     size=record.size, uploaded_at=d.created_at)  # fmt: skip


async def _update(client: Client, member_id: uuid.UUID, update: str, command: Any) -> MembershipView:
    handle = client.get_workflow_handle(membership_workflow_id(member_id))
    try:
        view: MembershipView = await handle.execute_update(update, command, result_type=MembershipView)
    except UPDATE_ERRORS as exc:
        raise http_error(exc, "membership") from exc
    return view


def _proof_response(
    session: Session, store: DocumentStore, cipher: DataCipher, member_id: uuid.UUID, document_id: uuid.UUID
) -> Response:
    proof = session.get(MemberDocument, document_id)
    if proof is None or proof.member_id != member_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "document not found")
    record = session.get_one(DocumentRecord, proof.document_id)
    data = cipher.decrypt(proof.key_id, store.get(record.sha256), associated=member_id.bytes)
    return uploads.document_response(record, data)


# --- the member ---------------------------------------------------------------------------------------------------


@router.get("/onboarding/me", response_model=OnboardingRead, summary="My onboarding: status, what is missing")
def my_onboarding(user: CurrentUser, session: SessionDep) -> OnboardingRead:
    return _read(session, _membership(session, member_id_of(user)))


@router.put("/onboarding/me/legal", response_model=VersionRead, summary="Save a new version of my legal data")
def save_legal_data(body: LegalDataIn, user: CurrentUser, session: SessionDep) -> LegalVersion:
    """A draft until it is submitted; the version in force (the one invoices use) changes only when ops approve."""
    membership = _membership(session, member_id_of(user))
    try:
        data = body.checked(membership.community)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from exc
    draft = repo.save_draft(session, community=membership.community, member_id=membership.member_id, data=data)
    session.commit()
    return draft


@router.post(
    "/onboarding/me/documents",
    response_model=ProofRead,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a proof document (identity, registry extract, bank details)",
    description=uploads.UPLOAD_DESCRIPTION + " Stored encrypted; seen by ops only.",
)
async def upload_proof(
    kind: Annotated[ProofKind, Query(description=", ".join(f"{k}: {v}" for k, v in PROOF_KINDS.items()))],
    file: UploadFile,
    user: CurrentUser,
    session: SessionDep,
    store: DocumentStoreDep,
    cipher: CipherDep,
) -> ProofRead:
    member_id = member_id_of(user)
    _membership(session, member_id)
    release_connection(session)
    data, checked = await uploads.read_upload(file, fallback_name=kind)
    key_id, sealed = cipher.encrypt(data, associated=member_id.bytes)
    sha256 = await anyio.to_thread.run_sync(store.put, sealed)

    def record() -> ProofRead:
        document = record_upload(session, kind="member_proof", sha256=sha256, size=len(data),
                                           media_type=checked.media_type, file_name=checked.file_name,
                                           stage="sealed")  # fmt: skip
        proof = MemberDocument(member_id=member_id, kind=kind, document_id=document.id, key_id=key_id,
                               uploaded_by=user.id)  # fmt: skip
        session.add(proof)
        session.commit()
        return _proof(session, proof)

    return await anyio.to_thread.run_sync(record)


@router.get("/onboarding/me/documents/{document_id}", response_class=Response, summary="Download my proof document")
def my_proof(
    document_id: uuid.UUID, user: CurrentUser, session: SessionDep, store: DocumentStoreDep, cipher: CipherDep
) -> Response:
    return _proof_response(session, store, cipher, member_id_of(user), document_id)


@router.post("/onboarding/me/submit", response_model=MembershipView, summary="Submit my legal data for review")
async def submit_onboarding(user: CurrentUser, session: SessionDep, client: TemporalDep) -> MembershipView:
    """The draft (or, at the first onboarding, the data given at registration) goes to ops; 409 with what is
    missing, or when a version is already under review."""
    membership = _membership(session, member_id_of(user))
    missing = repo.missing(session, membership.community, membership.member_id)
    if missing:
        raise HTTPException(status.HTTP_409_CONFLICT, "missing before review: " + "; ".join(missing))
    if membership.onboarding_status == "awaiting_review":
        raise HTTPException(status.HTTP_409_CONFLICT, "a version is already under review: wait for ops' answer")
    version = repo.submit_version(
        session, community=membership.community, member_id=membership.member_id, now=datetime.now(UTC)
    )
    session.commit()
    command = SubmitLegalData(actor=actor_of(user), version_id=version.id, version=version.version)
    try:
        return await _update(client, membership.member_id, "submit_legal_data", command)
    except HTTPException as exc:
        if exc.status_code == status.HTTP_409_CONFLICT:  # refused: the version stays a draft
            version.status, version.submitted_at = "draft", None
            session.commit()
        raise


# --- ops ------------------------------------------------------------------------------------------------------------


@router.get("/ops/members", response_model=list[QueuedMemberRead], summary="Members to vet or waiting for their fee")
def member_queue(
    _ops: OpsUser,
    session: SessionDep,
    status_: Annotated[QueueStatus | None, Query(alias="status", description="none: every member not active")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[repo.QueuedMember]:
    return repo.queue(session, status_, limit)


@router.get("/ops/members/{member_id}", response_model=OnboardingRead, summary="A member's onboarding (ops)")
def member_onboarding(member_id: uuid.UUID, _ops: OpsUser, session: SessionDep) -> OnboardingRead:
    return _read(session, _membership(session, member_id))


@router.get(
    "/ops/members/{member_id}/documents/{document_id}", response_class=Response, summary="A proof document (ops)"
)
def member_proof(
    member_id: uuid.UUID,
    document_id: uuid.UUID,
    ops: OpsUser,
    session: SessionDep,
    store: DocumentStoreDep,
    cipher: CipherDep,
) -> Response:
    """A privileged read: audited."""
    response = _proof_response(session, store, cipher, member_id, document_id)
    _audit(session, ops, "read_member_proof", member_id, "", {"document_id": str(document_id)})
    return response


def _audit(
    session: Session, ops: User, action: str, member_id: uuid.UUID, reason: str, details: dict[str, object]
) -> None:
    session.add(AuditEntry(at=datetime.now(UTC), actor_user_id=ops.id, action=action,
                           target=membership_workflow_id(member_id), reason=reason, details=details))  # fmt: skip
    session.commit()


async def _review(
    session: Session, client: Client, ops: User, member_id: uuid.UUID, update: str, command: Any
) -> MembershipView:
    """The workflow audits the decision it takes; a refusal is audited here."""
    try:
        return await _update(client, member_id, update, command)
    except HTTPException as exc:
        details = command.model_dump(mode="json", exclude={"actor"})
        await anyio.to_thread.run_sync(_audit, session, ops, update, member_id, f"refused: {exc.detail}", details)
        raise


def _under_review(session: Session, member_id: uuid.UUID) -> uuid.UUID:
    version = session.scalar(
        select(LegalVersion.id).where(LegalVersion.member_id == member_id, LegalVersion.status == "submitted")
    )
    release_connection(session)
    if version is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "no version of this member's legal data waits for review")
    return version


@router.post("/ops/members/{member_id}/approve", response_model=MembershipView, summary="Approve the legal data")
async def approve_member(
    member_id: uuid.UUID, body: Approval, ops: OpsUser, session: SessionDep, client: TemporalDep
) -> MembershipView:
    """The version under review comes in force (future invoices use it); a new member's fee is invoiced next."""
    version_id = _under_review(session, member_id)
    command = ApproveLegalData(actor=actor_of(ops), version_id=version_id, note=body.note)
    return await _review(session, client, ops, member_id, "approve_legal_data", command)


@router.post(
    "/ops/members/{member_id}/request-changes", response_model=MembershipView, summary="Ask the member for changes"
)
async def request_member_changes(
    member_id: uuid.UUID, body: ChangeRequest, ops: OpsUser, session: SessionDep, client: TemporalDep
) -> MembershipView:
    """The member gets a task and a notice with the reason; it fixes its data and submits again."""
    version_id = _under_review(session, member_id)
    command = RequestLegalChanges(actor=actor_of(ops), version_id=version_id, reason=body.reason)
    return await _review(session, client, ops, member_id, "request_legal_changes", command)


# --- an organisation's settings (ops) ------------------------------------------------------------------------------


def _organisation(session: Session, org_id: uuid.UUID) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "organisation not found")
    return org


@router.get("/ops/organisations/{org_id}/settings", response_model=OrganisationSettings, summary="Settings (ops)")
def organisation_settings(
    org_id: Annotated[uuid.UUID, Path()], _ops: OpsUser, session: SessionDep
) -> OrganisationSettings:
    org = _organisation(session, org_id)
    return OrganisationSettings(qualification_required=org.qualification_required)


@router.put("/ops/organisations/{org_id}/settings", response_model=OrganisationSettings, summary="Change (ops)")
def change_organisation_settings(
    org_id: Annotated[uuid.UUID, Path()], body: OrganisationSettings, ops: OpsUser, session: SessionDep
) -> OrganisationSettings:
    """Whether ops qualify this organisation's needs before matching (from its next need on); audited."""
    org = _organisation(session, org_id)
    org.qualification_required = body.qualification_required
    session.add(AuditEntry(at=datetime.now(UTC), actor_user_id=ops.id, action="organisation_settings",
                           target=f"organisation:{org_id}", reason="",
                           details={"qualification_required": body.qualification_required}))  # fmt: skip
    session.commit()
    return OrganisationSettings(qualification_required=org.qualification_required)
