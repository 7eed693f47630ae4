"""Input no database can store: a NUL character in text. PostgreSQL refuses it in any text column (SQLite
stores it), so it is refused at the door for every JSON or form body and query string, with a 422 naming it,
before any workflow or database sees the request (a later failure would leave a done action unaudited)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_REFUSED = json.dumps(
    {
        "detail": "invalid input: text may not contain NUL characters (\\u0000)",
        "errors": [{"field": "body", "message": "text may not contain NUL characters (\\u0000)"}],
    }
).encode()


class RefuseNulCharacters:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b""):
            await _refuse(send)
            return
        content_type = dict(scope.get("headers", [])).get(b"content-type", b"")
        if not (content_type.startswith(b"application/json") or content_type.startswith(b"application/x-www-form")):
            await self.app(scope, receive, send)  # file uploads carry binary bytes, NUL included: not text
            return
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            body += message.get("body", b"")
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        if b"\\u0000" in body or b"%00" in body or b"\x00" in body:
            await _refuse(send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send) -> None:
    await send({"type": "http.response.start", "status": 422, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": _REFUSED})
