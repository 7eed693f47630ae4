"""Routes for platform staff. Every action is audited; the audit log is readable here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from api.deps import OpsUser, SessionDep
from api.errors import ERROR_RESPONSES
from api.schemas.profiles import AuditRead
from store.models.community import AuditEntry

router = APIRouter(prefix="/ops", tags=["ops"], responses=ERROR_RESPONSES)


@router.get("/audit", response_model=list[AuditRead])
def audit_log(
    _user: OpsUser,
    session: SessionDep,
    target: Annotated[str | None, Query(max_length=200, description="e.g. mission:<id>")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.at.desc()).limit(limit)
    if target:
        query = query.where(AuditEntry.target == target)
    return list(session.scalars(query))
