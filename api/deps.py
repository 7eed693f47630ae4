"""Dependencies: settings, database session, Temporal client, the authenticated user and role guards."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

import anyio
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from temporalio.client import Client

from api.security import InvalidToken, decode_access_token
from config.crypto import DataCipher
from config.settings import Settings
from documents.store import DocumentStore
from domain.actors import Actor, Role
from store.access import visible_mission
from store.models.community import RefreshToken, User
from store.models.readmodel import MissionRecord

# ops routes need an enrolled second factor; the hint names where to enrol
ENROL_HINT = "enrol an authenticator app on the Security page (/portal/security), or POST /auth/totp/setup then enable"
_bearer = HTTPBearer(auto_error=False, description="access token from POST /auth/login")
ACCESS_COOKIE = "innot_access"


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in the thread pool, a
# hop per dependency per request that the reads pay for (bench.api).
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for the request, made on the event loop: a Session connects only when first used (in the thread
    pool, by the route), so a route that never touches the database (an ops action that is not refused) pays no
    thread hop for it; the close, which returns a connection to the pool, goes to the thread pool only then."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
    finally:
        if session.get_transaction() is None:
            session.close()  # never connected: no I/O
        else:
            with anyio.CancelScope(shield=True):  # a client gone mid-request must not leak the connection
                await anyio.to_thread.run_sync(session.close)


async def get_temporal(request: Request) -> Client:
    client: Client | None = request.app.state.temporal
    if client is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the workflow engine (Temporal) is not reachable")
    return client


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
TemporalDep = Annotated[Client, Depends(get_temporal)]

_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def authenticate(session: Session, settings: Settings, token: str | None) -> tuple[User, uuid.UUID]:
    """The account behind an access token, with one query (login session joined to its user); 401 otherwise.
    The login session is checked on every request, so a logout or a revoked session takes effect at once."""
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "authentication required", headers=_UNAUTHORIZED)
    try:
        claims = decode_access_token(settings, token)
        user_id, session_id = uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"])
    except (InvalidToken, ValueError) as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc), headers=_UNAUTHORIZED) from exc
    row = session.execute(
        select(User, RefreshToken.revoked_at, RefreshToken.expires_at)
        .join(RefreshToken, RefreshToken.user_id == User.id)
        .where(RefreshToken.id == session_id, User.id == user_id)
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "session revoked: log in again", headers=_UNAUTHORIZED)
    if row.expires_at < datetime.now(UTC):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "session expired: log in again", headers=_UNAUTHORIZED)
    if not row.User.is_active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "account disabled", headers=_UNAUTHORIZED)
    return row.User, session_id


# Login sessions checked in the last few seconds, by session id: most requests then need no database trip for
# authentication. A revocation in this process (logout, refresh, theft detection) drops its entry at once (see
# `_forget_revoked`); another API replica notices within SESSION_RECHECK_SECONDS.
SESSION_RECHECK_SECONDS = 5.0
_recently_checked: dict[uuid.UUID, tuple[float, str, User]] = {}


@event.listens_for(Session, "before_flush")
def _forget_revoked(session: Session, _context: object, _instances: object) -> None:
    for obj in session.dirty:
        if isinstance(obj, RefreshToken):
            _recently_checked.pop(obj.id, None)


def forget_user(user_id: uuid.UUID) -> None:
    """After a change of the account itself (e-mail verified, second factor, password): its sessions read it anew."""
    for session_id, (_, sub, _user) in list(_recently_checked.items()):
        if sub == str(user_id):
            _recently_checked.pop(session_id, None)


async def current_user(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """Authenticate, from the recent-sessions cache or in one trip to the thread pool with a short session of its
    own; the User comes back detached with its columns loaded (routes read it, never write it)."""
    token = credentials.credentials if credentials else request.cookies.get(ACCESS_COOKIE)
    if token:
        try:
            claims = decode_access_token(settings, token)  # signature and expiry, every time
            cached = _recently_checked.get(uuid.UUID(claims["sid"]))
        except (InvalidToken, ValueError, KeyError):
            cached = None
        if cached is not None and cached[0] > time.monotonic() and cached[1] == claims["sub"]:
            request.state.session_id = uuid.UUID(claims["sid"])
            return cached[2]

    def lookup() -> tuple[User, uuid.UUID]:
        with request.app.state.session_factory() as session:
            return authenticate(session, settings, token)

    user, session_id = await anyio.to_thread.run_sync(lookup)
    if len(_recently_checked) > 50_000:
        _recently_checked.clear()
    _recently_checked[session_id] = (time.monotonic() + SESSION_RECHECK_SECONDS, str(user.id), user)
    request.state.session_id = session_id
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_role(role: Role) -> Callable[[User], Awaitable[User]]:
    async def guard(user: CurrentUser) -> User:
        if user.role != role.value:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this route is for {role.value} accounts")
        if role is Role.OPS and user.totp_enabled_at is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"ops accounts need a second factor first: {ENROL_HINT}")
        return user

    return guard


ClientUser = Annotated[User, Depends(require_role(Role.CLIENT))]
ExpertUser = Annotated[User, Depends(require_role(Role.EXPERT))]
OpsUser = Annotated[User, Depends(require_role(Role.OPS))]


def actor_of(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        role=Role(user.role),
        org_id=user.organisation_id,
        expert_id=user.expert_id,
        org_role=user.org_role if user.role == "client" else None,
    )


async def cipher_of(request: Request) -> DataCipher:
    cipher: DataCipher = request.app.state.cipher
    return cipher


CipherDep = Annotated[DataCipher, Depends(cipher_of)]


def visible_mission_or_404(mission_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> MissionRecord:
    """The mission, if this user may see it; otherwise 404 exactly as for a mission that does not exist."""
    mission = visible_mission(session, user=user, mission_id=mission_id)
    if mission is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "mission not found")
    release_connection(session)
    return mission


def release_connection(session: Session) -> None:
    """End the (read-only) transaction so the pooled connection goes back before a long await on Temporal: an
    update waits for the workflow, and requests holding connections meanwhile exhaust the pool (found under load
    by tests/faults). Loaded objects stay usable (expire_on_commit is off)."""
    session.commit()


VisibleMission = Annotated[MissionRecord, Depends(visible_mission_or_404)]


async def document_store_of(request: Request) -> DocumentStore:
    store: DocumentStore = request.app.state.document_store
    return store


DocumentStoreDep = Annotated[DocumentStore, Depends(document_store_of)]
