from __future__ import annotations

from pathlib import Path

import pytest

from documents.store import DocumentNotFoundError, open_document_store, sha256_hex


def test_content_addressed_immutable_store(tmp_path: Path) -> None:
    store = open_document_store(f"file://{tmp_path}/docs")
    digest = store.put(b"%PDF-1.7 contract")
    assert digest == sha256_hex(b"%PDF-1.7 contract")
    assert store.put(b"%PDF-1.7 contract") == digest  # same bytes twice: no-op
    assert store.get(digest) == b"%PDF-1.7 contract"
    assert store.exists(digest)
    with pytest.raises(DocumentNotFoundError):
        store.get(sha256_hex(b"never stored"))
    stored = next((tmp_path / "docs").rglob(digest))
    stored.chmod(0o644)
    stored.write_bytes(b"tampered")
    with pytest.raises(ValueError, match="corrupted"):
        store.get(digest)
    with pytest.raises(ValueError, match="unsupported"):
        open_document_store("s3://bucket/prefix")
