"""Ops repair routes: the needs-attention queue (missions and milestones), retry all, batch actions on the
workflows a search-attribute query finds (a dry-run count first; see `api.repair`), and the edit of a party's legal
data (versioned, audited: `store.legal_data`) followed by the resumption of its parked missions and milestones."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session
from temporalio.client import Client

from api import repair, service
from api.deps import OpsUser, SessionDep, TemporalDep, release_connection
from api.errors import ERROR_RESPONSES
from api.schemas.accounts import ExpertLegalData, OrganisationLegalData
from store import legal_data
from store.models.community import Expert, Organisation, User

router = APIRouter(prefix="/ops", tags=["ops"], responses=ERROR_RESPONSES)

# `where`, not `query`: the 422 names a field by its location, where `query` and `body` are the locations' names
WhereText = Annotated[
    str,
    Query(
        min_length=1,
        max_length=1000,
        description='a Temporal visibility query over the search attributes, e.g. MissionStage = "shortlist"',
    ),
]


@router.get("/attention", response_model=list[repair.Parked], summary="Missions and milestones waiting for a repair")
def attention_queue(_user: OpsUser, session: SessionDep) -> list[repair.Parked]:
    return repair.parked(session)


class Retry(BaseModel):
    reason: str = Field(min_length=3, max_length=2000)


@router.post("/retry-all", response_model=repair.BatchResult, summary="Resume every parked mission and milestone")
async def retry_all(body: Retry, user: OpsUser, session: SessionDep, client: TemporalDep) -> repair.BatchResult:
    return await repair.retry_all(session, client, user=user, reason=body.reason)


class Count(BaseModel):
    where: str
    count: int


@router.get("/batch/count", response_model=Count, summary="Dry run: how many workflows a query matches")
async def batch_count(where: WhereText, _user: OpsUser, client: TemporalDep) -> Count:
    q = repair.Query.of(where)
    return Count(where=q.text, count=await repair.count(client, q))


class Batch(BaseModel):
    action: repair.BatchAction
    where: str = Field(min_length=1, max_length=1000, description="the search-attribute query the dry run counted")
    expected_count: int = Field(ge=0, description="the count the dry run showed; another count now is a 409")
    reason: str = Field(min_length=3, max_length=2000)


@router.post("/batch", response_model=repair.BatchResult, summary="Resume or pause every workflow a query matches")
async def batch(body: Batch, user: OpsUser, session: SessionDep, client: TemporalDep) -> repair.BatchResult:
    return await repair.run_batch(
        session,
        client,
        user=user,
        action=body.action,
        query=repair.Query.of(body.where),
        expected=body.expected_count,
        reason=body.reason,
    )


# --- a party's legal data ------------------------------------------------------------------------------------

LEGAL_MODELS: dict[legal_data.PartyKind, type[ExpertLegalData] | type[OrganisationLegalData]] = {
    "expert": ExpertLegalData,
    "organisation": OrganisationLegalData,
}
KINDS: dict[str, legal_data.PartyKind] = {"experts": "expert", "organisations": "organisation"}


class LegalVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    status: str = Field(
        description="approved (in force), superseded, submitted (under review), draft, changes_requested"
    )
    data: dict[str, Any]
    changed: list[str]
    reason: str
    by_user_id: uuid.UUID | None
    at: datetime


class LegalRead(BaseModel):
    party: str
    data: dict[str, Any] = Field(description="the legal data now")
    versions: list[LegalVersionRead] = Field(description="every version, oldest first (1: as registered)")
    parked: list[repair.Parked] = Field(description="this party's missions and milestones waiting for a repair")


class LegalEdit(BaseModel):
    changes: dict[str, str | None] = Field(
        description="the legal fields to change (others keep their value); the whole result is checked as at "
        "registration, by the party's country",
        examples=[{"vat_number": "FR44732829320"}],
    )
    reason: str = Field(min_length=3, max_length=2000)
    resume: bool = Field(default=True, description="then resume this party's parked missions and milestones")


class LegalEdited(BaseModel):
    version: int | None = Field(description="the new version; none when nothing changed")
    changed: list[str]
    resumed: list[repair.Outcome]


def _kind(kinds: str) -> legal_data.PartyKind:
    if kinds not in KINDS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "parties are experts or organisations")
    return KINDS[kinds]


def _party(session: Session, kind: legal_data.PartyKind, party_id: uuid.UUID) -> Expert | Organisation:
    party = legal_data.party_of(session, kind, party_id)
    if party is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{kind} not found")
    return party


def _parked_of(session: Session, kind: legal_data.PartyKind, party_id: uuid.UUID) -> list[repair.Parked]:
    if kind == "expert":
        return repair.parked(session, expert_id=party_id)
    return repair.parked(session, client_org_id=party_id)


def legal_of(session: Session, kinds: str, party_id: uuid.UUID) -> LegalRead:
    kind = _kind(kinds)
    party = _party(session, kind, party_id)
    return LegalRead(
        party=legal_data.party_ref(kind, party_id),
        data=legal_data.legal_data(kind, party),
        versions=[LegalVersionRead.model_validate(v) for v in legal_data.versions(session, kind, party_id)],
        parked=_parked_of(session, kind, party_id),
    )


def validated_change(
    session: Session, kinds: str, party_id: uuid.UUID, changes: dict[str, str | None]
) -> dict[str, Any]:
    """The party's legal data with `changes`, checked as a whole (422 naming the field) and normalised."""
    kind = _kind(kinds)
    party = _party(session, kind, party_id)
    unknown = sorted(set(changes) - set(legal_data.FIELDS[kind]))
    if unknown:
        known = ", ".join(legal_data.FIELDS[kind])
        raise HTTPException(422, f"changes.{unknown[0]}: not a legal field of an {kind} (one of {known})")
    merged = legal_data.legal_data(kind, party) | {k: (v.strip() if v else None) for k, v in changes.items()}
    try:
        checked = LEGAL_MODELS[kind].model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or str(first.get("ctx", {}).get("field", ""))
        message = str(first["msg"]).removeprefix("Value error, ")
        field = where or message.partition(":")[0]
        text = message if message.startswith(f"{field}:") else f"{field}: {message}"
        raise HTTPException(422, f"changes.{text}") from exc
    return checked.model_dump(mode="json")


def read_audited(session: Session, user: User, kinds: str, party_id: uuid.UUID) -> LegalRead:
    """`legal_of`, with the audit entry of a privileged read (a party's bank details and identifiers)."""
    read = legal_of(session, kinds, party_id)
    service.audit(session, user=user, action="read_legal_data", target=read.party, reason="ops view", details={})
    return read


@router.get("/parties/{kinds}/{party_id}/legal", response_model=LegalRead, summary="A party's legal data (audited)")
def read_legal(kinds: str, party_id: uuid.UUID, user: OpsUser, session: SessionDep) -> LegalRead:
    return read_audited(session, user, kinds, party_id)


async def edit_legal(
    session: Session, client: Client, *, user: User, kinds: str, party_id: uuid.UUID, body: LegalEdit
) -> LegalEdited:
    """Check, apply (versioned, audited: `store.legal_data.apply_legal_change`), then resume the party's parked
    missions and milestones when asked."""

    def apply() -> tuple[int | None, list[str], list[str]]:
        values = validated_change(session, kinds, party_id, body.changes)
        kind = _kind(kinds)
        change = legal_data.LegalChange(kind=kind, party_id=party_id, values=values, by=user, reason=body.reason)
        version = legal_data.apply_legal_change(session, change)
        parked = [p.workflow_id for p in _parked_of(session, kind, party_id)] if body.resume else []
        release_connection(session)
        return (version.version, list(version.changed), parked) if version else (None, [], parked)

    number, changed, parked = await anyio.to_thread.run_sync(apply)
    reason = f"legal data fixed: {body.reason}"
    resumed = await repair.resume_each(session, client, user=user, workflow_ids=parked, reason=reason)
    return LegalEdited(version=number, changed=changed, resumed=resumed)


@router.put(
    "/parties/{kinds}/{party_id}/legal",
    response_model=LegalEdited,
    summary="Edit a party's legal data (versioned, audited), then resume its parked missions and milestones",
)
async def put_legal(
    kinds: str, party_id: uuid.UUID, body: LegalEdit, user: OpsUser, session: SessionDep, client: TemporalDep
) -> LegalEdited:
    return await edit_legal(session, client, user=user, kinds=kinds, party_id=party_id, body=body)
