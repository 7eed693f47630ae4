"""The expert directory, for clients (and ops): search with filters and words, read a profile, download a CV. Only
active experts are listed, each as they chose to be seen (domain.directory); a client then puts the one they
chose on a mission's shortlist (`POST /missions/{id}/shortlist/invite`)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from pydantic import ValidationError

from api import uploads
from api.deps import CurrentUser, DocumentStoreDep, SessionDep
from api.errors import ERROR_RESPONSES
from api.schemas.directory import ExpertCard, ExpertPage
from domain.directory import DirectoryQuery
from domain.taxonomy import SkillLevel
from store import directory
from store.models.community import User
from store.models.legal import DocumentRecord

router = APIRouter(prefix="/directory", tags=["directory"], responses=ERROR_RESPONSES)


async def reader(user: CurrentUser) -> User:
    """Clients search the directory to choose an expert; ops to help them. Experts do not browse each other."""
    if user.role not in ("client", "ops"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the directory is for client accounts")
    return user


Reader = Annotated[User, Depends(reader)]


def directory_query(
    q: Annotated[str | None, Query(max_length=200, description="words of the headline and portfolio")] = None,
    function: Annotated[str | None, Query(max_length=100, description="business function")] = None,
    skill: Annotated[str | None, Query(max_length=100, description="skill (taxonomy key or synonym)")] = None,
    min_level: Annotated[SkillLevel | None, Query(description="with skill: at least this level")] = None,
    language: Annotated[str | None, Query(min_length=2, max_length=3)] = None,
    country: Annotated[
        str | None, Query(min_length=2, max_length=2, description="lives or works on site there")
    ] = None,
    max_rate: Annotated[Decimal | None, Query(gt=0, max_digits=14, decimal_places=2, description="daily rate")] = None,
    currency: Annotated[str, Query(min_length=3, max_length=3, description="of max_rate")] = "EUR",
    available_by: Annotated[date | None, Query(description="available from this date at the latest")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> DirectoryQuery:
    try:
        return DirectoryQuery(
            q=q, function=function, skill=skill, min_level=min_level, language=language, country=country,
            max_rate=max_rate, currency=currency.upper(), available_by=available_by, limit=limit, offset=offset,
        )  # fmt: skip
    except ValidationError as exc:  # pragma: no cover - the Query bounds are the model's
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


Search = Annotated[DirectoryQuery, Depends(directory_query)]


@router.get("/experts", response_model=ExpertPage, summary="Search the expert directory")
def search_experts(query: Search, request: Request, user: Reader, session: SessionDep) -> ExpertPage:
    try:
        found = directory.search(session, query, request.app.state.settings.exchange_rates.table())
    except directory.UnknownTerm as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    cards = [
        ExpertCard.model_validate(directory.public_profile(session, e, with_portfolio=False)) for e in found.experts
    ]
    return ExpertPage(items=cards, total=found.total, limit=query.limit, offset=query.offset)


@router.get("/experts/{expert_id}", response_model=ExpertCard, summary="An expert's profile, as they made it public")
def read_expert(expert_id: uuid.UUID, user: Reader, session: SessionDep) -> ExpertCard:
    expert = directory.listed(session, expert_id)
    if expert is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "expert not found")
    return ExpertCard.model_validate(directory.public_profile(session, expert, with_portfolio=True))


@router.get(
    "/experts/{expert_id}/cv",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the expert's CV (PDF)"}},
    summary="An expert's CV, when they made it public",
)
def download_cv(expert_id: uuid.UUID, user: Reader, session: SessionDep, store: DocumentStoreDep) -> Response:
    expert = directory.listed(session, expert_id)
    record = session.get(DocumentRecord, expert.cv_document_id) if expert and expert.cv_document_id else None
    if expert is None or record is None or "cv" not in (expert.public_fields or ()):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no public CV")
    return uploads.document_response(record, store.get(record.sha256))
