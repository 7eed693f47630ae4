"""The one place that records a file a member uploaded: its DocumentRecord, once its bytes (content-checked by
documents.uploads, maybe sealed) are in the document store under `sha256`."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from store.models.legal import DocumentRecord


def record_upload(
    session: Session,
    *,
    kind: str,
    sha256: str,
    size: int,
    media_type: str,
    file_name: str,
    mission_id: uuid.UUID | None = None,
    stage: str = "uploaded",
) -> DocumentRecord:
    """Add the record of an uploaded file (`sha256`: of what the store holds; `size`, `media_type`, `file_name`: of
    the file as sent, as its content check found it) and flush it for its id; the caller commits."""
    record = DocumentRecord(
        kind=kind,
        sha256=sha256,
        size=size,
        media_type=media_type,
        file_name=file_name,
        mission_id=mission_id,
        language="en",
        stage=stage,
    )
    session.add(record)
    session.flush()
    return record
