"""Codec server for the Temporal Web UI and CLI (Temporal's remote codec protocol): ops only.

Payloads in the Temporal history are AES-GCM encrypted (config.codec). Staff point the Web UI's "codec server"
setting at `<api>/codec` (with "pass the user access token" on) to read them; every decode is audited by count.
A body that is not a Payloads document, or a payload that does not open (forged, truncated, sealed with a key not
configured here), answers 422 naming the payload and the reason: nothing of it is returned.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from api.deps import OpsUser, SessionDep
from api.service import audited
from config.codec import EncryptionCodec, UnreadablePayload

router = APIRouter(prefix="/codec", tags=["ops"], include_in_schema=True)


async def _payloads(request: Request) -> Payloads:
    try:
        return json_format.Parse(await request.body(), Payloads())
    except (json_format.ParseError, UnicodeDecodeError) as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"body: not a Temporal Payloads JSON document ({str(exc)[:200]})"
        ) from exc


def _codec(request: Request) -> EncryptionCodec:
    codec: EncryptionCodec = request.app.state.payload_codec
    return codec


@router.post("/encode", summary="Encode payloads (Temporal codec protocol)")
async def encode(request: Request, _user: OpsUser) -> JSONResponse:
    payloads = await _payloads(request)
    encoded = await _codec(request).encode(payloads.payloads)
    return JSONResponse(json_format.MessageToDict(Payloads(payloads=encoded)))


@router.post("/decode", summary="Decode payloads for the Temporal Web UI (ops only, audited)")
async def decode(request: Request, user: OpsUser, session: SessionDep) -> JSONResponse:
    payloads = await _payloads(request)
    try:
        decoded = await _codec(request).decode(payloads.payloads)
    except UnreadablePayload as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    await audited(
        session,
        user=user,
        action="decode_payloads",
        target=f"namespace:{request.headers.get('X-Namespace', 'default')}",
        reason="Temporal Web UI / CLI codec server",
        details={"payloads": len(decoded)},
    )
    return JSONResponse(json_format.MessageToDict(Payloads(payloads=decoded)))
