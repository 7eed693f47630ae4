"""The directory page for clients (and ops): search the experts with the API's filters and words, and put the one
chosen on a mission waiting for its shortlist review (the action `invite_expert`, through the mission's form)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select

from api.deps import SessionDep
from api.schemas.directory import ExpertCard
from api.web.core import WebUser, error_text, function_choices, language_of, render, require
from domain.directory import DirectoryQuery
from domain.taxonomy import SKILL_LEVEL_LABELS, SKILL_LEVELS
from store import directory
from store.models.readmodel import MissionRecord

router = APIRouter(prefix="/portal", include_in_schema=False)
FILTERS = ("q", "function", "skill", "min_level", "language", "country", "max_rate", "currency", "available_by")


@router.get("/directory")
def directory_page(request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "client", "ops")
    values = {k: v.strip() for k in FILTERS if (v := request.query_params.get(k, "")).strip()}
    cards: list[ExpertCard] = []
    total, error = 0, None
    if values:
        try:
            query = DirectoryQuery.model_validate(values | {"currency": values.get("currency", "EUR").upper()})
            found = directory.search(session, query, request.app.state.settings.exchange_rates.table())
            cards = [ExpertCard.model_validate(directory.public_profile(session, e, with_portfolio=True))
                     for e in found.experts]  # fmt: skip
            total = found.total
        except ValidationError as exc:
            error = error_text(exc)
        except directory.UnknownTerm as exc:
            error = str(exc)
    missions = []
    if user.role == "client":  # the missions a pick can join: their shortlist is under review
        missions = list(
            session.scalars(
                select(MissionRecord)
                .where(MissionRecord.client_org_id == user.organisation_id, MissionRecord.stage == "shortlist")
                .order_by(MissionRecord.title)
            )
        )
    chosen = request.query_params.get("mission", "")
    lang = language_of(request, user)
    return render(
        request,
        "directory.html",
        user,
        values=values,
        cards=cards,
        total=total,
        error=error,
        missions=missions,
        chosen=uuid.UUID(chosen) if _is_uuid(chosen) else None,
        functions=function_choices(lang),
        levels=[(lv, SKILL_LEVEL_LABELS[lv][1 if lang == "fr" else 0]) for lv in SKILL_LEVELS],
    )


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
