"""Content-addressed document store: bytes are written once under their SHA-256 and never change.

`LocalDocumentStore` (a folder; the default, `document_store = file:///...`) is the only backend so far.
S3-compatible storage (design, not built yet): same protocol; key `sha256/<aa>/<hash>`; `put` does a
`HEAD` first and a `PUT` with `x-amz-checksum-sha256` and `If-None-Match: *` (immutable, no overwrite),
signed with AWS SigV4 over httpx; bucket with Object Lock (compliance mode) for the legal retention period.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse


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


def open_document_store(url: str) -> DocumentStore:
    """The store named by settings.document_store (`file:///path`)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalDocumentStore(Path(unquote(parsed.path)))
    raise ValueError(f"unsupported document store {url!r}: only file:// is implemented (S3: see module doc)")
