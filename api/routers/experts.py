"""Routes for experts: their profile and availability (missions and the task inbox come with the lifecycle)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ExpertUser, SessionDep
from api.errors import ERROR_RESPONSES
from api.schemas.profiles import ExpertProfileRead, ExpertProfileUpdate
from store.models.community import Expert

router = APIRouter(prefix="/experts", tags=["experts"], responses=ERROR_RESPONSES)


def _profile(user: ExpertUser, session: SessionDep) -> Expert:
    expert = session.get(Expert, user.expert_id)
    assert expert is not None  # an expert account always has its profile (registration creates both)
    return expert


@router.get("/profile", response_model=ExpertProfileRead)
def read_profile(user: ExpertUser, session: SessionDep) -> Expert:
    return _profile(user, session)


@router.patch("/profile", response_model=ExpertProfileRead)
def update_profile(body: ExpertProfileUpdate, user: ExpertUser, session: SessionDep) -> Expert:
    expert = _profile(user, session)
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(expert, field, value)
    session.commit()
    return expert
