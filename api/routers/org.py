"""The people of a client organisation and its settings: the members and their roles, the invitations of colleagues,
the budget above which a need waits for an approver (domain.org_roles).

Every member lists the members of their own organisation; only an admin invites, changes a role, removes a member
or sets the threshold (403 otherwise). A member id of another organisation answers 404 like a missing one, and an
invitation answers the same whether or not the address has an account anywhere: no address of another organisation
can be found out here. The invited colleague follows the e-mailed link (signed, expiring, single use) to choose a
password: the account opens in the organisation with the role the admin chose, its address verified by the act.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.account_links import new_link_token, signed_hash
from api.account_mail import Mailer, MailUnavailable, send_account_email
from api.deps import ClientUser, SettingsDep, forget_user
from api.errors import ERROR_RESPONSES
from api.schemas.security import Done, Password
from api.security import hash_password
from domain.money import Currency
from domain.org_roles import MANAGES, OrgRole, may
from store import organisations as orgs
from store.db import transaction
from store.models.community import Organisation, OrgInvitation, User

router = APIRouter(prefix="/org", tags=["organisation"], responses=ERROR_RESPONSES)
ORG_INVITATION = "org_invitation"
INVITE_ANSWER = "the invitation is on its way to {email} (the link works once, for seven days)"


def _factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


Factory = Annotated[sessionmaker[Session], Depends(_factory)]


def _admin(user: User) -> None:
    if not may(user.org_role, MANAGES):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only an admin of the organisation can manage its members")


async def AdminUser(user: ClientUser) -> User:  # noqa: N802 - a dependency, read like a type
    _admin(user)
    return user


Admin = Annotated[User, Depends(AdminUser)]


class MemberRole(BaseModel):
    role: OrgRole = Field(description="admin | buyer | approver | finance")


class OrgMember(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    full_name: str
    email: str
    role: OrgRole | None = Field(validation_alias="org_role")


class PendingInvitation(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    email: str
    full_name: str
    role: OrgRole = Field(validation_alias="org_role")
    expires_at: datetime


class Members(BaseModel):
    members: list[OrgMember]
    invitations: list[PendingInvitation] = Field(description="sent and not used yet (admins only)")


class Invite(BaseModel):
    email: EmailStr
    full_name: str = Field(min_length=2, max_length=200)
    role: OrgRole
    language: str = Field(default="en", pattern="^(en|fr)$")


class JoinOrganisation(BaseModel):
    token: str = Field(min_length=20, max_length=200, description="the `token` parameter of the e-mailed link")
    password: Password


class OrgSettings(BaseModel):
    approval_threshold: Decimal | None = Field(
        default=None,
        ge=0,
        max_digits=14,
        decimal_places=2,
        description="a need whose budget (daily rate high end x days) is above it waits for an approver; "
        "null: no approval step",
    )
    currency: Currency | None = Field(default=None, description="the threshold's currency (ISO 4217)")


@router.get("/members", response_model=Members, summary="The members of my organisation and their roles")
async def list_members(user: ClientUser, factory: Factory) -> Members:
    org_id = user.organisation_id
    assert org_id is not None

    def read() -> Members:
        with factory() as session:
            people = [OrgMember.model_validate(u) for u in orgs.members(session, organisation_id=org_id)]
            pending = []
            if may(user.org_role, MANAGES):
                rows = orgs.pending_invitations(session, organisation_id=org_id)
                pending = [PendingInvitation.model_validate(r) for r in rows]
            return Members(members=people, invitations=pending)

    return await anyio.to_thread.run_sync(read)


@router.post(
    "/members", status_code=status.HTTP_202_ACCEPTED, response_model=Done, summary="Invite a colleague (admin)"
)
async def invite_member(body: Invite, user: Admin, request: Request, factory: Factory, settings: SettingsDep) -> Done:
    """The colleague receives a link to open their account in the organisation, with this role. The answer is the
    same whether or not the address has an account elsewhere (following the link says so to its owner only)."""
    org_id = user.organisation_id
    assert org_id is not None
    email = str(body.email).lower()
    token, token_hash = new_link_token(settings, ORG_INVITATION)

    def issue() -> OrgInvitation:
        with transaction(factory) as session:
            mine = session.scalar(
                select(func.count())
                .select_from(User)
                .where(func.lower(User.email) == email, User.organisation_id == org_id, User.is_active.is_(True))
            )
            if mine:
                raise HTTPException(
                    status.HTTP_409_CONFLICT, f"email: {email} is a member of your organisation already"
                )
            row = orgs.invite(
                session,
                organisation_id=org_id,
                invited_by=user.id,
                email=email,
                full_name=body.full_name,
                role=body.role,
                language=body.language,
                token_hash=token_hash,
            )
            session.expunge(row)
            return row

    row = await anyio.to_thread.run_sync(issue)
    mailer: Mailer | None = request.app.state.mailer
    try:
        await send_account_email(mailer, settings, user=row, kind="org_invitation", token=token)
    except MailUnavailable as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the mail server is not reachable: invite again in a few minutes"
        ) from exc
    return Done(detail=INVITE_ANSWER.format(email=email))


@router.patch("/members/{user_id}", response_model=OrgMember, summary="Change a member's role (admin)")
async def change_role(user_id: uuid.UUID, body: MemberRole, user: Admin, factory: Factory) -> OrgMember:
    org_id = user.organisation_id
    assert org_id is not None

    def apply() -> OrgMember:
        with transaction(factory) as session:
            try:
                found = orgs.change_role(session, organisation_id=org_id, user_id=user_id, role=body.role)
            except orgs.MemberRefused as exc:
                raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
            if found is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "user_id: no such member of your organisation")
            return OrgMember.model_validate(found)

    answer = await anyio.to_thread.run_sync(apply)
    forget_user(user_id)  # their next request reads the new role
    return answer


@router.delete("/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a member (admin)")
async def remove_member(user_id: uuid.UUID, user: Admin, factory: Factory) -> Response:
    """The member's account is closed and every one of its sessions ends; the missions stay the organisation's."""
    org_id = user.organisation_id
    assert org_id is not None

    def apply() -> bool:
        with transaction(factory) as session:
            try:
                return orgs.remove(session, organisation_id=org_id, user_id=user_id)
            except orgs.MemberRefused as exc:
                raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc

    if not await anyio.to_thread.run_sync(apply):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "user_id: no such member of your organisation")
    forget_user(user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/join", response_model=Done, summary="Follow a colleague's invitation: open my account")
async def join(body: JoinOrganisation, factory: Factory, settings: SettingsDep) -> Done:
    token_hash = signed_hash(settings, ORG_INVITATION, body.token)
    if token_hash is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "token: this invitation is not valid: ask for a new one")
    password_hash = await hash_password(body.password.get_secret_value())

    def apply() -> str:
        with transaction(factory) as session:
            return orgs.accept(session, token_hash=token_hash, password_hash=password_hash).email

    try:
        email = await anyio.to_thread.run_sync(apply)
    except orgs.MemberRefused as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    return Done(detail=f"your account {email} is open: log in")


@router.get("/settings", response_model=OrgSettings, summary="My organisation's approval threshold")
def read_settings(user: ClientUser, factory: Factory) -> OrgSettings:
    with factory() as session:
        org = session.get_one(Organisation, user.organisation_id)
        return OrgSettings(approval_threshold=org.approval_threshold, currency=org.approval_currency)


@router.put("/settings", response_model=OrgSettings, summary="Set the approval threshold (admin)")
def write_settings(body: OrgSettings, user: Admin, factory: Factory) -> OrgSettings:
    """Applies to the needs posted from now on (a running mission keeps the threshold it started with)."""
    if body.approval_threshold is not None and body.currency is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "currency: give the threshold's currency")
    assert user.organisation_id is not None
    with transaction(factory) as session:
        org = orgs.set_threshold(
            session, organisation_id=user.organisation_id, amount=body.approval_threshold, currency=body.currency
        )
        return OrgSettings(approval_threshold=org.approval_threshold, currency=org.approval_currency)
