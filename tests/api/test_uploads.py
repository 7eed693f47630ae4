"""Uploads and downloads over the API: a file is what its bytes are, whatever its name and declared type say, and
a download is an attachment of its real type, under its sender's (cleaned) name, that no browser sniffs."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.uploads import document_response
from store.models.legal import DocumentRecord
from tests.api.live import LiveMission
from tests.documents.test_uploads import PDF, windows_executable


@pytest.mark.db
@pytest.mark.devserver
async def test_an_executable_sent_as_report_pdf_is_refused_and_nothing_is_kept(
    live_mission: LiveMission, session_factory: sessionmaker[Session]
) -> None:
    live, executable = live_mission, windows_executable()
    expert = live.parties["expert_selected"].headers
    url = f"/missions/{live.mission_id}/milestones/1/deliverable"
    files = {"file": ("report.pdf", executable, "application/pdf")}
    answer = await live.api.post(url, files=files, headers=expert)
    assert answer.status_code == 415, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith("file: report.pdf: its content is application/x-msdownload (.exe)"), detail
    assert ".pdf" in detail and ".docx" in detail, "the answer lists what would be accepted"
    with session_factory() as session:
        kept = session.scalar(
            select(func.count())
            .select_from(DocumentRecord)
            .where(DocumentRecord.sha256 == hashlib.sha256(executable).hexdigest())
        )
    assert kept == 0
    assert not live.app.state.document_store.exists(hashlib.sha256(executable).hexdigest())


@pytest.mark.db
@pytest.mark.devserver
async def test_a_document_is_downloaded_as_an_attachment_no_browser_sniffs(live_mission: LiveMission) -> None:
    live = live_mission
    client = live.parties["client_a"].headers
    answer = await live.api.get(f"/missions/{live.mission_id}/documents/{live.document_id}", headers=client)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["x-content-type-options"] == "nosniff"
    disposition = answer.headers["content-disposition"]  # the live mission's document: its contract or invoice
    assert disposition.startswith('attachment; filename="') and disposition.endswith('.pdf"')


def _record(**fields: object) -> DocumentRecord:
    return DocumentRecord(
        id=uuid.uuid4(), sha256="0" * 64, size=3, mission_id=uuid.uuid4(), language="en", stage="submitted", **fields
    )


def test_a_deliverable_is_served_as_its_content_under_its_senders_name() -> None:
    uploaded = document_response(
        _record(kind="deliverable", media_type="application/pdf", file_name="Étude finale.pdf"), PDF
    )
    assert uploaded.media_type == "application/pdf"
    assert uploaded.headers["content-disposition"] == (
        "attachment; filename=\"Etude finale.pdf\"; filename*=UTF-8''%C3%89tude%20finale.pdf"
    )
    assert uploaded.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in uploaded.headers["content-security-policy"]
    # one uploaded before the content was checked carries only what its sender declared: served as mere bytes
    legacy = _record(kind="deliverable", media_type="application/pdf", file_name=None)
    older = document_response(legacy, windows_executable())
    assert older.media_type == "application/octet-stream"
    assert older.headers["content-disposition"] == f'attachment; filename="deliverable-{legacy.id}.bin"'
