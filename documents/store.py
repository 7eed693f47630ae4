"""Content-addressed document store: bytes are written once under their SHA-256 and never change.

Two backends behind one protocol:
- `LocalDocumentStore`, a folder (the default, `document_store = file:///...`);
- `S3DocumentStore`, any S3-compatible object store (`document_store = s3://bucket/prefix?endpoint=https://...
  &region=eu-west-3`; credentials from the standard AWS variables). Keys are `<prefix>/sha256/<aa>/<hash>`; `put`
  checks with HEAD, then PUTs with the SHA-256 checksum (the server verifies it) and `If-None-Match: *`, so an
  object is never overwritten. In production, give the bucket Object Lock (compliance mode) for the legal
  retention period of invoices.
Both verify the hash of what they read back.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlparse


class DocumentNotFoundError(KeyError):
    pass


class DocumentStore(Protocol):
    def put(self, data: bytes) -> str:
        """Store the bytes (a no-op when already there) and return their SHA-256 (hex)."""
        ...

    def get(self, sha256: str) -> bytes:
        """The bytes stored under this hash; raises `DocumentNotFoundError`."""
        ...

    def exists(self, sha256: str) -> bool: ...


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalDocumentStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        digest = sha256_hex(data)
        path = self._path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        # write to a temporary file then rename: readers never see a partial document
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
            path.chmod(0o444)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return digest

    def get(self, sha256: str) -> bytes:
        path = self._path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError as error:
            raise DocumentNotFoundError(sha256) from error
        if sha256_hex(data) != sha256:
            raise ValueError(f"document {sha256} is corrupted on disk")
        return data

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).exists()


class S3DocumentStore:
    def __init__(
        self, bucket: str, prefix: str = "", *, endpoint: str | None = None, region: str | None = None
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        config = Config(retries={"max_attempts": 5, "mode": "standard"}, s3={"addressing_style": "path"})
        self.s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region, config=config)

    def _key(self, sha256: str) -> str:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return "/".join(p for p in (self.prefix, "sha256", sha256[:2], sha256) if p)

    def put(self, data: bytes) -> str:
        from botocore.exceptions import ClientError

        digest = sha256_hex(data)
        if self.exists(digest):
            return digest
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=self._key(digest),
                Body=data,
                ChecksumSHA256=base64.b64encode(bytes.fromhex(digest)).decode(),
                IfNoneMatch="*",
            )
        except ClientError as error:  # written meanwhile by another process: same bytes, nothing to do
            if error.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise
        return digest

    def get(self, sha256: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            data: bytes = self.s3.get_object(Bucket=self.bucket, Key=self._key(sha256))["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise DocumentNotFoundError(sha256) from error
            raise
        if sha256_hex(data) != sha256:
            raise ValueError(f"document {sha256} is corrupted in the object store")
        return data

    def exists(self, sha256: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.s3.head_object(Bucket=self.bucket, Key=self._key(sha256))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True


def open_document_store(url: str) -> DocumentStore:
    """The store named by settings.document_store: `file:///path` or `s3://bucket/prefix?endpoint=...&region=...`."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalDocumentStore(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        options = parse_qs(parsed.query)
        return S3DocumentStore(
            parsed.netloc,
            unquote(parsed.path),
            endpoint=options.get("endpoint", [None])[0],
            region=options.get("region", [None])[0],
        )
    raise ValueError(f"unsupported document store {url!r}: use file:///path or s3://bucket/prefix")
