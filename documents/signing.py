"""PAdES signatures with pyHanko: parties sign, the platform seals with an RFC 3161 timestamp (verification:
`documents.verification`).

Development PKI: a platform CA, one certificate per signer and a timestamp authority (TSA) certificate are generated
at first use under `settings.keys_dir` (signers: ECDSA P-256; the TSA: RSA-2048, the only key pyHanko's local
`DummyTimeStamper` signs with). Production points `keys_dir` at real certificates (same file names; RSA, ECDSA or
EdDSA keys) and `settings.tsa_url` (INNOT_TSA_URL) at a real RFC 3161 TSA (pyHanko's `HTTPTimeStamper`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

if TYPE_CHECKING:
    from config.settings import Settings

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey

CA_NAME = "platform-ca"
TSA_NAME = "platform-tsa"
SEAL_NAME = "platform-seal"
MAX_CACHED_SIGNERS = 1024
_lock = threading.Lock()


@contextmanager
def _keys_lock(directory: Path) -> Iterator[None]:
    """One creator of keys at a time, across threads and processes (the API, the workers and the CLI all start
    on an empty keys folder at the first `make run`): they must all sign under the same CA."""
    directory.mkdir(parents=True, exist_ok=True)
    with _lock, (directory / ".lock").open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    temporary.chmod(mode)
    os.replace(temporary, path)


def _safe(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,80}", name):
        raise ValueError(f"invalid key name {name!r}")
    return name


def _new_key(*, timestamping: bool = False) -> SigningKey:
    """Signers get ECDSA P-256 (generated in a millisecond, where RSA-2048 takes up to a second); the TSA gets
    RSA-2048, the only key type `DummyTimeStamper` signs with."""
    if timestamping:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _load_key(path: Path) -> SigningKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(
        key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
    ):
        raise ValueError(f"{path.name}: unsupported key type {type(key).__name__}")
    return key


def _certificate_hash(key: SigningKey) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey) else hashes.SHA256()


class DevPki:
    """Keys and certificates under one folder, created on first use (development and tests)."""

    def __init__(self, keys_dir: Path, organisation: str = "innot") -> None:
        self.dir = keys_dir
        self.organisation = organisation

    def _paths(self, name: str) -> tuple[Path, Path]:
        return self.dir / f"{_safe(name)}.key.pem", self.dir / f"{name}.cert.pem"

    def _ensure_ca(self) -> tuple[SigningKey, x509.Certificate]:
        key_path, cert_path = self._paths(CA_NAME)
        if not cert_path.exists():
            key = _new_key()
            name = x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.organisation),
                    x509.NameAttribute(NameOID.COMMON_NAME, f"{self.organisation} development CA"),
                ]
            )
            now = dt.datetime.now(dt.UTC)
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(
                    x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
                )
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256())
            )
            self._write(key_path, cert_path, key, cert)
        return self._read(key_path, cert_path)

    def _write(self, key_path: Path, cert_path: Path, key: SigningKey, cert: x509.Certificate) -> None:
        """The key, then the certificate, each whole or absent: a certificate on disk means its key is there."""
        self.dir.mkdir(parents=True, exist_ok=True)
        encryption = serialization.NoEncryption()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        _write_atomically(key_path, pem, 0o600)
        _write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)

    @staticmethod
    def _read(key_path: Path, cert_path: Path) -> tuple[SigningKey, x509.Certificate]:
        return _load_key(key_path), x509.load_pem_x509_certificate(cert_path.read_bytes())

    def paths(self, name: str) -> tuple[Path, Path, Path]:
        """The key, certificate and CA certificate files of `name` (which may not exist yet)."""
        return *self._paths(name), self._paths(CA_NAME)[1]

    def _usable(self, key_path: Path, cert_path: Path, *, timestamping: bool) -> bool:
        # a TSA key from a keys folder of an earlier version is ECDSA: the local timestamper signs with RSA only
        return cert_path.exists() and (not timestamping or isinstance(_load_key(key_path), rsa.RSAPrivateKey))

    def ensure(self, name: str, common_name: str, *, timestamping: bool = False) -> tuple[Path, Path]:
        """Key and certificate files of `name`, issued by the platform CA if missing.

        An existing certificate is returned without touching the CA key."""
        key_path, cert_path = self._paths(name)
        if self._usable(key_path, cert_path, timestamping=timestamping):
            return key_path, cert_path
        with _keys_lock(self.dir):
            if self._usable(key_path, cert_path, timestamping=timestamping):  # issued meanwhile by another process
                return key_path, cert_path
            ca_key, ca_cert = self._ensure_ca()
            key = _new_key(timestamping=timestamping)
            now = dt.datetime.now(dt.UTC)
            subject = x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.organisation),
                    x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                ]
            )
            usage = [ExtendedKeyUsageOID.TIME_STAMPING] if timestamping else [ExtendedKeyUsageOID.EMAIL_PROTECTION]
            builder = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(ca_cert.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=825))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(
                    x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True
                )
                .add_extension(x509.ExtendedKeyUsage(usage), critical=timestamping)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            )
            self._write(key_path, cert_path, key, builder.sign(ca_key, _certificate_hash(ca_key)))
            return key_path, cert_path

    @property
    def ca_cert_path(self) -> Path:
        cert_path = self._paths(CA_NAME)[1]
        if not cert_path.exists():
            with _keys_lock(self.dir):
                self._ensure_ca()
        return cert_path


@dataclass(frozen=True)
class _Loaded:
    """Something built from key files, with the files' modification times: a replaced file is loaded again."""

    value: Any
    stamp: tuple[int, ...]
    reserved: dict[Any, int] = field(default_factory=dict)  # a signer's container size, per timestamper (or None)


def _stamp(*paths: Path) -> tuple[int, ...] | None:
    try:
        return tuple(path.stat().st_mtime_ns for path in paths)
    except FileNotFoundError:
        return None


def _simple_signer(key_path: Path, cert_path: Path, ca_path: Path) -> Any:
    from pyhanko.keys import load_certs_from_pemder, load_private_key_from_pemder
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    certificate, *intermediates = load_certs_from_pemder([str(cert_path)])  # type: ignore[no-untyped-call]
    chain = [*intermediates, *load_certs_from_pemder([str(ca_path)])]  # type: ignore[no-untyped-call]
    return SimpleSigner(
        signing_cert=certificate,
        signing_key=load_private_key_from_pemder(str(key_path), passphrase=None),
        cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
    )


def _local_timestamper(key_path: Path, cert_path: Path, ca_path: Path) -> Any:
    from pyhanko.keys import load_cert_from_pemder, load_certs_from_pemder, load_private_key_from_pemder
    from pyhanko.sign.timestamps import DummyTimeStamper
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    return DummyTimeStamper(
        tsa_cert=load_cert_from_pemder(str(cert_path)),  # type: ignore[no-untyped-call]
        tsa_key=load_private_key_from_pemder(str(key_path), passphrase=None),
        certs_to_embed=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            load_certs_from_pemder([str(ca_path)])  # type: ignore[no-untyped-call]
        ),
    )


class PdfSigner:
    """Signs PDFs with pyHanko (PAdES baseline, incremental updates: earlier signatures stay valid), with the
    certificates of a `DevPki` and timestamps from `timestamp_url` (RFC 3161 over HTTP) or else the local TSA key.

    Build one per process and share it: each signer's key and certificates are loaded once into a pyHanko signer
    (again when one of its files is replaced), the timestamper is built once, and the room each signer's container
    needs is estimated once per timestamper (`_reserved`)."""

    def __init__(self, pki: DevPki, *, timestamp_url: str | None = None) -> None:
        self.pki = pki
        self.timestamp_url = timestamp_url
        self._cache_lock = threading.Lock()
        self._signers: dict[str, _Loaded] = {}
        self._timestamper: _Loaded | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> PdfSigner:
        pki = DevPki(settings.keys_dir, organisation=settings.platform.legal_name)
        return cls(pki, timestamp_url=settings.tsa_url)

    def warm_up(self, seal_common_name: str) -> None:
        """Load the platform seal's signer and the timestamper now (at worker start) rather than at the first seal."""
        self._signer(SEAL_NAME, seal_common_name)
        self._timestamp_client()

    def _load(self, name: str, common_name: str, kept: _Loaded | None, build: Any, *, timestamping: bool) -> _Loaded:
        paths = self.pki.paths(name)
        if kept is not None and kept.stamp == _stamp(*paths):
            return kept
        self.pki.ensure(name, common_name, timestamping=timestamping)
        stamp = _stamp(*paths)
        if stamp is None:
            raise FileNotFoundError(f"{self.pki.dir}: the key, certificate or CA certificate of {name} is missing")
        return _Loaded(build(*paths), stamp)

    def _signer(self, name: str, common_name: str) -> _Loaded:
        with self._cache_lock:
            loaded = self._load(name, common_name, self._signers.get(name), _simple_signer, timestamping=False)
            if name not in self._signers and len(self._signers) >= MAX_CACHED_SIGNERS:
                del self._signers[next(iter(self._signers))]  # forget the signer loaded first (each signs rarely)
            self._signers[name] = loaded
            return loaded

    @staticmethod
    def _reserved(signer: _Loaded, timestamper: Any) -> int:
        """Hex digits reserved for the signature container, as pyHanko estimates them (a dry-run container, plus
        half) but once per signer and timestamper rather than at every signature (a quarter of a signature's
        time): the estimate depends on nothing else (the timestamper's dummy token is cached as well)."""
        reserved = signer.reserved.get(timestamper)
        if reserved is None:
            dry_run = asyncio.run(
                signer.value.async_sign(bytes(32), "sha256", dry_run=True, use_pades=True, timestamper=timestamper)
            )
            size = 2 * len(dry_run.dump())
            reserved = signer.reserved[timestamper] = size + 2 * (size // 4)
        return reserved

    def _timestamp_client(self) -> Any:
        if self.timestamp_url:
            from pyhanko.sign.timestamps import HTTPTimeStamper

            with self._cache_lock:
                if self._timestamper is None:
                    self._timestamper = _Loaded(HTTPTimeStamper(self.timestamp_url), ())
                return self._timestamper.value
        with self._cache_lock:
            self._timestamper = self._load(
                TSA_NAME, f"{self.pki.organisation} development timestamp authority", self._timestamper,
                _local_timestamper, timestamping=True,
            )  # fmt: skip
            return self._timestamper.value

    def sign(
        self, pdf: bytes, *, signer_name: str, common_name: str, field_name: str, reason: str, timestamp: bool = False
    ) -> bytes:
        """`pdf` with one more signature in a new field `field_name`, timestamped when `timestamp`."""
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers

        metadata = signers.PdfSignatureMetadata(
            field_name=field_name, reason=reason, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
        )
        loaded = self._signer(signer_name, common_name)
        timestamper = self._timestamp_client() if timestamp else None
        signer = signers.PdfSigner(metadata, signer=loaded.value, timestamper=timestamper)
        out = BytesIO()
        signer.sign_pdf(
            IncrementalPdfFileWriter(BytesIO(pdf)), output=out, bytes_reserved=self._reserved(loaded, timestamper)
        )
        return out.getvalue()
