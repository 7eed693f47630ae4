"""Error answers: 422 naming the field, 409 for conflicts, 503 when a dependency is down; never a bare 500."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = structlog.get_logger(__name__)

# A 422 names each field and says what is wrong; it never echoes the input (pydantic's default does, in full).
MAX_ECHO = 300
MAX_ERRORS = 20


class ErrorBody(BaseModel):
    detail: str


class FieldError(BaseModel):
    field: str
    message: str


class ValidationErrorBody(BaseModel):
    detail: str
    errors: list[FieldError]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing, expired or revoked token"},
    403: {"model": ErrorBody, "description": "the account's role may not use this route"},
    404: {"model": ErrorBody, "description": "not found (also for resources of other organisations)"},
    409: {"model": ErrorBody, "description": "conflict with the current state"},
    422: {"model": ValidationErrorBody, "description": "invalid input; each error names its field"},
    503: {"model": ErrorBody, "description": "a dependency (database or Temporal) is unavailable"},
}


def _field_of(error: dict[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
    message = str(error.get("msg", ""))
    # model-level validators name their field as "field: message"
    inner = message.removeprefix("Value error, ")
    head, sep, _ = inner.partition(": ")
    if sep and head.isidentifier() and head not in loc:
        loc.append(head)
    return ".".join(loc) or "body"


def cut(text: str, limit: int = MAX_ECHO) -> str:
    """At most ``limit`` characters of a message: a validator that quotes what was sent must not send back a
    megabyte (the field is named apart, so the cut message still says where the problem is)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _message_of(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    head, sep, rest = message.partition(": ")
    return cut(rest if sep and head.isidentifier() else message)


def field_errors(found: Sequence[Any]) -> list[FieldError]:
    """Pydantic's errors as the 422 names them (the API's body, the portal's message under each field)."""
    errors = [FieldError(field=cut(_field_of(e), 200), message=_message_of(e)) for e in found[:MAX_ERRORS]]
    if len(found) > MAX_ERRORS:
        errors.append(FieldError(field="body", message=f"{len(found) - MAX_ERRORS} more errors not shown"))
    return errors


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(exc.errors())
    summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
    body = ValidationErrorBody(detail=f"invalid input: {summary}", errors=errors)
    return JSONResponse(body.model_dump(), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _database_down(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable", error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return JSONResponse(
        {"detail": "the database is unavailable; nothing was changed, please retry shortly"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )


async def _database_busy(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("database connection pool exhausted", error=str(exc).splitlines()[0])
    return JSONResponse(
        {"detail": "the database is busy; please retry shortly (a retried request is applied once)"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(InterfaceError, _database_down)
    app.add_exception_handler(PoolTimeout, _database_busy)
