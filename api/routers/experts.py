"""Routes for experts: their profile (what clients see of it in the directory, the portfolio, the CV) and
availability (missions and the task inbox come with the lifecycle)."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, HTTPException, UploadFile, status
from sqlalchemy.orm import Session

from api import uploads
from api.deps import DocumentStoreDep, ExpertUser, SessionDep
from api.errors import ERROR_RESPONSES
from api.schemas.profiles import ExpertProfileRead, ExpertProfileUpdate
from domain.directory import PortfolioEntry
from store import directory
from store.documents import record_upload
from store.models.community import Expert

router = APIRouter(prefix="/experts", tags=["experts"], responses=ERROR_RESPONSES)


def _profile(user: ExpertUser, session: SessionDep) -> Expert:
    expert = session.get(Expert, user.expert_id)
    assert expert is not None  # an expert account always has its profile (registration creates both)
    return expert


def _read(session: Session, expert: Expert) -> ExpertProfileRead:
    portfolio = [
        PortfolioEntry(title=p.title, description=p.description, year=p.year, url=p.url)
        for p in directory.portfolio_of(session, expert.id)
    ]
    return ExpertProfileRead.model_validate(expert).model_copy(update={"portfolio": portfolio})


@router.get("/profile", response_model=ExpertProfileRead)
def read_profile(user: ExpertUser, session: SessionDep) -> ExpertProfileRead:
    return _read(session, _profile(user, session))


@router.patch("/profile", response_model=ExpertProfileRead)
def update_profile(body: ExpertProfileUpdate, user: ExpertUser, session: SessionDep) -> ExpertProfileRead:
    expert = _profile(user, session)
    changes = body.model_dump(exclude_unset=True, exclude={"portfolio"})
    skills = changes.get("skills", expert.skills)
    levels = changes.get("skill_levels", expert.skill_levels or {})
    stray = sorted(set(levels) - set(skills))
    if "skill_levels" in changes and stray:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"skill_levels: not among your skills: {stray}")
    changes["skill_levels"] = {k: v for k, v in levels.items() if k in skills}  # a skill dropped takes its level
    for field, value in changes.items():
        setattr(expert, field, value)
    if body.portfolio is not None:
        directory.replace_portfolio(session, expert, body.portfolio)
    directory.reindex(session, expert)
    session.commit()
    return _read(session, expert)


@router.post(
    "/profile/cv",
    response_model=ExpertProfileRead,
    summary="Upload the CV (a PDF, checked by its content); public only if `cv` is in public_fields",
)
async def upload_cv(
    file: UploadFile, user: ExpertUser, session: SessionDep, store: DocumentStoreDep
) -> ExpertProfileRead:
    data, checked = await uploads.read_upload(file, fallback_name="cv")
    if checked.media_type != "application/pdf":
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"file: a CV is a PDF, not {checked.media_type}")
    sha256 = await anyio.to_thread.run_sync(store.put, data)

    def record() -> ExpertProfileRead:
        expert = _profile(user, session)
        document = record_upload(session, kind="cv", sha256=sha256, size=len(data),
                                           media_type=checked.media_type, file_name=checked.file_name)  # fmt: skip
        expert.cv_document_id = document.id
        session.commit()
        return _read(session, expert)

    return await anyio.to_thread.run_sync(record)
