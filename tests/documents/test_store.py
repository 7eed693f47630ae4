"""The content-addressed document store, on a folder and on an S3-compatible server (moto's S3 server over HTTP,
driven by boto3 exactly as a real bucket would be)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from documents.store import DocumentNotFoundError, DocumentStore, open_document_store, sha256_hex


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "innot-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "innot-test-secret")


def _local(tmp_path: Path, _endpoint: str) -> tuple[DocumentStore, Callable[[str, bytes], None]]:
    store = open_document_store(f"file://{tmp_path}/docs")

    def tamper(digest: str, data: bytes) -> None:
        stored = next((tmp_path / "docs").rglob(digest))
        stored.chmod(0o644)
        stored.write_bytes(data)

    return store, tamper


def _s3(tmp_path: Path, endpoint: str) -> tuple[DocumentStore, Callable[[str, bytes], None]]:
    bucket = f"innot-{tmp_path.name.lower().replace('_', '-')[-40:]}"
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    store = open_document_store(f"s3://{bucket}/prod?endpoint={endpoint}&region=eu-west-3")

    def tamper(digest: str, data: bytes) -> None:
        s3.put_object(Bucket=bucket, Key=f"prod/sha256/{digest[:2]}/{digest}", Body=data)

    return store, tamper


@pytest.mark.usefixtures("s3_env")
@pytest.mark.parametrize("backend", [_local, _s3], ids=["folder", "s3"])
def test_content_addressed_immutable_store(
    tmp_path: Path,
    s3_endpoint: str,
    backend: Callable[[Path, str], tuple[DocumentStore, Callable[[str, bytes], None]]],
) -> None:
    store, tamper = backend(tmp_path, s3_endpoint)
    digest = store.put(b"%PDF-1.7 contract")
    assert digest == sha256_hex(b"%PDF-1.7 contract")
    assert store.put(b"%PDF-1.7 contract") == digest  # same bytes twice: no-op
    assert store.get(digest) == b"%PDF-1.7 contract"
    assert store.exists(digest)
    assert not store.exists(sha256_hex(b"never stored"))
    with pytest.raises(DocumentNotFoundError):
        store.get(sha256_hex(b"never stored"))
    tamper(digest, b"tampered")
    with pytest.raises(ValueError, match="corrupted"):
        store.get(digest)
    with pytest.raises(ValueError, match="not a SHA-256"):
        store.get("../../etc/passwd")


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        open_document_store("ftp://example.org/docs")
