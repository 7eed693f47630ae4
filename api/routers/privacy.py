"""A member's data (GDPR): download it all as a zip, or have it erased. See `api.privacy`."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field, SecretStr
from temporalio.client import Client

from api import privacy
from api.deps import CipherDep, CurrentUser, DocumentStoreDep, SessionDep, SettingsDep
from api.errors import ERROR_RESPONSES
from api.second_factor import confirm_presence
from api.security import verify_password
from documents.uploads import content_disposition

router = APIRouter(prefix="/auth/me", tags=["auth"], responses=ERROR_RESPONSES)


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {privacy.EXPORT_MEDIA_TYPE: {}}, "description": "data.json and documents/"}},
    summary="Download my data (GDPR): a zip of data.json and my documents",
)
def export_my_data(user: CurrentUser, session: SessionDep, cipher: CipherDep, store: DocumentStoreDep) -> Response:
    data = privacy.export(session, cipher, store, user)
    name = f"innot-export-{datetime.now(UTC).date().isoformat()}.zip"
    return Response(
        data, media_type=privacy.EXPORT_MEDIA_TYPE, headers={"Content-Disposition": content_disposition(name)}
    )


class ErasureRequest(BaseModel):
    password: SecretStr = Field(description="my password, to confirm it is me")
    otp: str | None = Field(default=None, description="my authenticator code, when I enrolled one")
    confirm: bool = Field(description="true: I understand that my account is closed for good")
    reason: str = Field(default="", max_length=2000)


class ErasureDone(BaseModel):
    pseudonymised: list[str]
    kept: list[str] = Field(description="what the law keeps (invoices and contracts: ten years in France)")


async def temporal_or_none(request: Request) -> Client | None:
    client: Client | None = request.app.state.temporal
    if client is None:
        client = await request.app.state.connect_temporal()
    return client


@router.post("/erasure", response_model=ErasureDone, summary="Erase my data (GDPR) and close my account")
async def erase_my_data(
    body: ErasureRequest, request: Request, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> ErasureDone:
    if not body.confirm:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "confirm: must be true to erase the account")
    if not await verify_password(body.password.get_secret_value(), user.password_hash):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "password: wrong password: nothing was erased")
    if user.totp_enabled_at is not None:
        await anyio.to_thread.run_sync(confirm_presence, settings, user, body.otp, "erase your data")
    done = await privacy.erase(session, await temporal_or_none(request), user, reason=body.reason)
    return ErasureDone(pseudonymised=done.pseudonymised, kept=done.kept)
