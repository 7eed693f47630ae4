"""The one door for files: every upload route reads its file through `read_upload` (size bound, type from the
content, cleaned name: documents.uploads), and every document of a mission is served by `document_response`.

A download is always an attachment, named (RFC 6266, `filename*` for names beyond ASCII), of the media type its
content was found to have, with `nosniff` so that no browser second-guesses it; a file a member sent is also
sandboxed by its Content-Security-Policy, should a browser ever render it.
"""

from __future__ import annotations

from functools import partial
from typing import Literal

import anyio
from fastapi import HTTPException, Response, status
from starlette.datastructures import UploadFile

from documents.uploads import ACCEPTED, CheckedFile, RefusedFile, check_upload, clean_file_name, content_disposition
from store.models.legal import DocumentRecord

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
# documents whose bytes a member sent; the others the platform issued
UPLOADED_KINDS = frozenset({"deliverable", "evidence", "cv", "member_proof"})
# The media types a download may have, for the OpenAPI document.
DOWNLOAD_CONTENT: dict[str, dict[str, str]] = {
    "application/pdf": {},
    "application/octet-stream": {},
    "application/zip": {},
    "image/png": {},
    "text/plain": {},
}
UPLOAD_DESCRIPTION = f"Accepted, by content (not by name or declared type): {ACCEPTED}; at most 25 MB."


Problem = Literal["too_large", "empty", "type"]


class UploadRefused(HTTPException):
    """A file `read_upload` refuses. The API answers its detail (`file: ...`); a page that takes several files names
    the one refused (`file_name`, cleaned as it would have been kept) and says why in its reader's language
    (`problem`; for a refused type, `reason` is the content check's own words, without the name)."""

    def __init__(self, status_code: int, *, file_name: str, problem: Problem, reason: str, detail: str) -> None:
        super().__init__(status_code, detail)
        self.file_name, self.problem, self.reason = file_name, problem, reason


async def read_upload(file: UploadFile, *, fallback_name: str) -> tuple[bytes, CheckedFile]:
    """The file's bytes and what they are; UploadRefused (413, 415 or 422) with the reason otherwise."""
    name = clean_file_name(file.filename or "", fallback=fallback_name)
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRefused(
            status.HTTP_413_CONTENT_TOO_LARGE,
            file_name=name,
            problem="too_large",
            reason="larger than 25 MB",
            detail="file: larger than 25 MB",
        )
    if not data:
        raise UploadRefused(
            status.HTTP_422_UNPROCESSABLE_CONTENT, file_name=name, problem="empty", reason="empty", detail="file: empty"
        )
    try:
        checked = await anyio.to_thread.run_sync(
            partial(check_upload, data, file.filename, fallback_name=fallback_name)
        )
    except RefusedFile as exc:
        raise UploadRefused(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            file_name=name,
            problem="type",
            reason=str(exc).removeprefix(f"{name}: "),
            detail=f"file: {exc}",
        ) from exc
    return data, checked


def document_response(record: DocumentRecord, data: bytes) -> Response:
    headers = {"X-Content-Type-Options": "nosniff", "X-Content-SHA256": record.sha256}
    if record.kind in UPLOADED_KINDS:
        headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
        if record.file_name:
            media_type, name = record.media_type, record.file_name
        else:  # uploaded before its content was checked: its declared type is not to be trusted
            media_type, name = "application/octet-stream", f"{record.kind}-{record.id}.bin"
    else:
        media_type, name = record.media_type, f"{record.kind}-{record.number or record.id}.pdf"
    headers["Content-Disposition"] = content_disposition(name)
    return Response(data, media_type=media_type, headers=headers)


def shown_inline(response: Response) -> Response:
    """A PDF the platform issued (contract, invoice), to preview in the page: `inline` instead of `attachment`. A file
    a member sent (sandboxed by its policy) stays an attachment."""
    disposition = response.headers.get("Content-Disposition", "")
    issued = "Content-Security-Policy" not in response.headers and response.media_type == "application/pdf"
    if issued and disposition.startswith("attachment"):
        response.headers["Content-Disposition"] = "inline" + disposition.removeprefix("attachment")
    return response
