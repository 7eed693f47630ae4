"""PAdES signatures: parties sign, the platform seals with a timestamp; offline verification with pyHanko.

Development PKI: a platform CA, one certificate per signer and a TSA certificate are generated at first use
under `settings.keys_dir` (ECDSA P-256, with `cryptography`). Production points `keys_dir` at real certificates
(same file names; RSA, ECDSA or EdDSA keys). Signatures are made by `documents.pades` (containers encoded from
parts prepared once per key, incremental update written directly), or by pyHanko for a PDF structure that module
does not update; both verify with pyHanko against the platform CA.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from documents import pades

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


def _new_key() -> ec.EllipticCurvePrivateKey:
    """Development keys are ECDSA P-256: generated in a millisecond, signing in ~50 us (RSA-2048: ~1 s, ~1 ms)."""
    return ec.generate_private_key(ec.SECP256R1())


def _certificate_hash(key: pades.SigningKey) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey) else hashes.SHA256()


class DevPki:
    """Keys and certificates under one folder, created on first use (development and tests)."""

    def __init__(self, keys_dir: Path, organisation: str = "innot") -> None:
        self.dir = keys_dir
        self.organisation = organisation

    def _paths(self, name: str) -> tuple[Path, Path]:
        return self.dir / f"{_safe(name)}.key.pem", self.dir / f"{name}.cert.pem"

    def _ensure_ca(self) -> tuple[pades.SigningKey, x509.Certificate]:
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

    def _write(self, key_path: Path, cert_path: Path, key: pades.SigningKey, cert: x509.Certificate) -> None:
        """The key, then the certificate, each whole or absent: a certificate on disk means its key is there."""
        self.dir.mkdir(parents=True, exist_ok=True)
        encryption = serialization.NoEncryption()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        _write_atomically(key_path, pem, 0o600)
        _write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)

    @staticmethod
    def _read(key_path: Path, cert_path: Path) -> tuple[pades.SigningKey, x509.Certificate]:
        key = pades.load_private_key(key_path.read_bytes())
        return key, x509.load_pem_x509_certificate(cert_path.read_bytes())

    def ensure(self, name: str, common_name: str, *, timestamping: bool = False) -> tuple[Path, Path]:
        """Key and certificate files of `name`, issued by the platform CA if missing.

        An existing certificate is returned without touching the CA key."""
        key_path, cert_path = self._paths(name)
        if cert_path.exists():
            return key_path, cert_path
        with _keys_lock(self.dir):
            if cert_path.exists():  # another thread or process issued it meanwhile
                return key_path, cert_path
            ca_key, ca_cert = self._ensure_ca()
            key = _new_key()
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


def _pem_certificates(path: Path) -> tuple[bytes, ...]:
    """The DER of every certificate in a PEM (or DER) file."""
    data = path.read_bytes()
    if b"-----BEGIN" not in data:
        return (data,)
    return tuple(c.public_bytes(serialization.Encoding.DER) for c in x509.load_pem_x509_certificates(data))


@dataclass(frozen=True)
class _Material:
    """A signing key parsed once with its certificate and the CA chain, as a ready `CmsSigner`."""

    cms: pades.CmsSigner
    cert: Any  # asn1crypto Certificate (pyHanko's form, for its own signing path)
    chain: tuple[Any, ...]
    stamp: tuple[int, int, int]  # mtimes of key, certificate and CA certificate: a replaced file is reloaded


def _load_material(key_path: Path, cert_path: Path, ca_path: Path) -> _Material:
    from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]

    stamp = (key_path.stat().st_mtime_ns, cert_path.stat().st_mtime_ns, ca_path.stat().st_mtime_ns)
    certificate = _pem_certificates(cert_path)[0]
    chain = _pem_certificates(ca_path)
    return _Material(
        cms=pades.CmsSigner(pades.load_private_key(key_path.read_bytes()), certificate, chain),
        cert=asn1_x509.Certificate.load(certificate),
        chain=tuple(asn1_x509.Certificate.load(c) for c in chain),
        stamp=stamp,
    )


def _pyhanko_signer(material: _Material, tsa: pades.TimestampAuthority | None, built: list[int]) -> Any:
    """A pyHanko `Signer` whose container is ours (same attributes, timestamp included): pyHanko only lays out
    the incremental update. `built` receives the size of each container made (hex digits)."""
    from asn1crypto import cms
    from pyhanko.sign.general import SigningError
    from pyhanko.sign.signers.pdf_cms import Signer
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    class PreparedSigner(Signer):
        async def async_sign(  # the attribute settings are pyHanko's PAdES defaults, the ones ours encodes
            self, data_digest: bytes, digest_algorithm: str, dry_run: Any = False, use_pades: Any = False,
            timestamper: Any = None, signed_attr_settings: Any = None, is_pdf_sig: Any = True,
            encap_content_info: Any = None,
        ) -> Any:  # fmt: skip
            if digest_algorithm != "sha256":
                raise SigningError(f"only SHA-256 is configured, not {digest_algorithm}")
            der = pades.container(material.cms, data_digest, tsa, dry_run=dry_run)
            built.append(2 * len(der))
            return cms.ContentInfo.load(der)

    return PreparedSigner(
        signing_cert=material.cert,
        cert_registry=SimpleCertificateStore.from_certs(list(material.chain)),  # type: ignore[no-untyped-call]
    )


class PdfSigner:
    """Signs PDFs (incremental updates: earlier signatures stay valid) with certificates of a `DevPki`.

    Build one per process and share it: keys and certificates are loaded once (reloaded when a key or certificate
    file is replaced), and the size reserved for each signer's container is estimated once per signer and kind."""

    def __init__(self, pki: DevPki) -> None:
        self.pki = pki
        self._cache_lock = threading.Lock()
        self._materials: dict[str, _Material] = {}
        self._tsa: pades.TimestampAuthority | None = None
        self._reserved: dict[tuple[str, bool], int] = {}  # hex digits reserved for the container
        self.fallbacks = 0  # signatures pyHanko laid out (a PDF structure `pades` does not update)

    def _material(self, name: str, common_name: str, *, timestamping: bool = False) -> _Material:
        key_path, cert_path = self.pki.ensure(name, common_name, timestamping=timestamping)
        ca_path = self.pki.ca_cert_path
        with self._cache_lock:
            cached = self._materials.get(name)
            if cached is not None:
                stamp = (key_path.stat().st_mtime_ns, cert_path.stat().st_mtime_ns, ca_path.stat().st_mtime_ns)
                if stamp == cached.stamp:
                    return cached
            material = _load_material(key_path, cert_path, ca_path)
            if len(self._materials) >= MAX_CACHED_SIGNERS:  # forget the signer loaded first (each signs rarely)
                forgotten = next(iter(self._materials))
                del self._materials[forgotten]
                self._reserved.pop((forgotten, False), None)
                self._reserved.pop((forgotten, True), None)
            self._materials[name] = material
            self._reserved.pop((name, False), None)
            self._reserved.pop((name, True), None)
            if name == TSA_NAME:
                self._reserved = {k: v for k, v in self._reserved.items() if not k[1]}
            return material

    def _timestamp_authority(self) -> pades.TimestampAuthority:
        material = self._material(TSA_NAME, "innot development timestamp authority", timestamping=True)
        tsa = self._tsa
        if tsa is None or tsa.signer is not material.cms:
            tsa = self._tsa = pades.TimestampAuthority(material.cms)
        return tsa

    def sign(
        self, pdf: bytes, *, signer_name: str, common_name: str, field_name: str, reason: str, timestamp: bool = False
    ) -> bytes:
        material = self._material(signer_name, common_name)
        tsa = self._timestamp_authority() if timestamp else None
        key = (signer_name, timestamp)
        reserved = self._reserved.get(key)
        if reserved is None:  # the container with the longest signature values, and room for a longer TSA name
            reserved = 2 * len(pades.container(material.cms, bytes(32), tsa, dry_run=True)) + 256
            self._reserved[key] = reserved
        for _ in range(3):
            try:
                return self._sign(pdf, material, tsa, field_name=field_name, reason=reason, reserved=reserved)
            except pades.ContainerTooLarge as error:  # e.g. a certificate replaced by a larger one: estimate again
                reserved = error.needed + 256
                with self._cache_lock:
                    self._reserved[key] = reserved
        raise RuntimeError("the signature container keeps outgrowing its reserved size")

    def _sign(
        self, pdf: bytes, material: _Material, tsa: pades.TimestampAuthority | None, *, field_name: str,
        reason: str, reserved: int,
    ) -> bytes:  # fmt: skip
        try:
            update = pades.prepare_signature(pdf, field_name=field_name, reason=reason, reserved=reserved)
        except pades.UnsupportedPdf:
            self.fallbacks += 1
            return self._sign_with_pyhanko(pdf, material, tsa, field_name=field_name, reason=reason,
                                           reserved=reserved)  # fmt: skip
        return pades.embed_container(update, pades.container(material.cms, update.digest, tsa))

    @staticmethod
    def _sign_with_pyhanko(
        pdf: bytes, material: _Material, tsa: pades.TimestampAuthority | None, *, field_name: str,
        reason: str, reserved: int,
    ) -> bytes:  # fmt: skip
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers
        from pyhanko.sign.general import SigningError

        built: list[int] = []
        metadata = signers.PdfSignatureMetadata(
            field_name=field_name, reason=reason, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
        )
        out = BytesIO()
        try:
            signers.sign_pdf(
                IncrementalPdfFileWriter(BytesIO(pdf)), metadata, signer=_pyhanko_signer(material, tsa, built),
                bytes_reserved=reserved, output=out,
            )  # fmt: skip
        except SigningError:
            if built and built[-1] > reserved:
                raise pades.ContainerTooLarge(built[-1]) from None
            raise
        return out.getvalue()


@dataclass
class SignatureCheck:
    field_name: str
    signer: str
    intact: bool
    valid: bool
    trusted: bool
    covers_whole_document: bool
    timestamped: bool
    problems: list[str] = field(default_factory=list)


@dataclass
class VerificationReport:
    sha256: str
    signatures: list[SignatureCheck] = field(default_factory=list)
    facturx: str | None = None  # "valid", or what is wrong, or None when the PDF embeds no Factur-X XML
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(not s.problems for s in self.signatures)

    def summary(self) -> str:
        lines = [f"document {self.sha256}: {'OK' if self.ok else 'INVALID'}"]
        lines += [f"- {p}" for p in self.problems]
        for s in self.signatures:
            state = "ok" if not s.problems else "; ".join(s.problems)
            lines.append(f"- signature {s.field_name} by {s.signer}: {state}")
        return "\n".join(lines)


def verify_document(
    document: bytes | Path, *, trust_root: Path, expect_facturx: bool | None = None
) -> VerificationReport:
    """Check every PAdES signature (trusting only `trust_root`) and the embedded Factur-X XML (XSD)."""
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    data = document.read_bytes() if isinstance(document, Path) else document
    report = VerificationReport(sha256=hashlib.sha256(data).hexdigest())
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as error:  # a damaged file cannot even be parsed
        report.problems.append(f"the PDF cannot be read: {error}")
        return report
    root = load_cert_from_pemder(str(trust_root))  # type: ignore[no-untyped-call]
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    for sig in embedded:
        check = SignatureCheck(
            field_name=sig.field_name,
            signer="?",
            intact=False,
            valid=False,
            trusted=False,
            covers_whole_document=False,
            timestamped=False,
        )
        try:
            status = validate_pdf_signature(sig, signer_validation_context=context)
            check.signer = status.signing_cert.subject.human_friendly
            check.intact, check.valid, check.trusted = status.intact, status.valid, status.trusted
            check.timestamped = status.timestamp_validity is not None
            coverage = status.coverage.name if status.coverage is not None else "NONE"
            check.covers_whole_document = coverage in {"ENTIRE_FILE", "ENTIRE_REVISION"}
            if not status.intact:
                check.problems.append("the signed bytes were modified after signing")
            if not status.valid:
                check.problems.append("the cryptographic signature is invalid")
            if status.intact and not status.trusted:
                check.problems.append("the signer's certificate does not chain to the platform CA")
            if status.modification_level is not None and status.modification_level.name not in {
                "NONE",
                "LTA_UPDATES",
                "FORM_FILLING",
            }:
                check.problems.append(f"the document was changed after signing ({status.modification_level.name})")
        except Exception as error:
            check.problems.append(f"the signature cannot be validated: {error}")
        report.signatures.append(check)
    from documents.facturx import check_xsd, extract_facturx

    try:
        xml = extract_facturx(data)
    except Exception as error:
        xml = None
        if expect_facturx:
            report.problems.append(f"the Factur-X attachment cannot be read: {error}")
    if xml is not None:
        try:
            check_xsd(xml)
            report.facturx = "valid"
        except ValueError as error:
            report.facturx = str(error)
            report.problems.append(f"the embedded Factur-X XML is invalid: {error}")
    elif expect_facturx:
        report.problems.append("the invoice carries no Factur-X XML")
    return report
