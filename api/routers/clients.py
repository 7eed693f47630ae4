"""Routes for members of a client organisation."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import ClientUser, SessionDep
from api.errors import ERROR_RESPONSES
from api.schemas.profiles import MemberRead, OrganisationRead
from store.models.community import Organisation, User

router = APIRouter(prefix="/clients", tags=["clients"], responses=ERROR_RESPONSES)


@router.get("/organisation", response_model=OrganisationRead)
def my_organisation(user: ClientUser, session: SessionDep) -> Organisation:
    org = session.get(Organisation, user.organisation_id)
    assert org is not None  # a client account always belongs to an organisation (registration creates both)
    return org


@router.get("/organisation/members", response_model=list[MemberRead])
def my_colleagues(user: ClientUser, session: SessionDep) -> list[User]:
    return list(session.scalars(select(User).where(User.organisation_id == user.organisation_id)))
