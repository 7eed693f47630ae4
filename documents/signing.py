"""PAdES signatures with pyHanko: parties sign, the platform seals with a timestamp; offline verification.

Development PKI: a platform CA, one certificate per signer and a TSA certificate are generated at first use
under `settings.keys_dir` (with `cryptography`). Production points `keys_dir` at real certificates (same file
names) and replaces the dummy timestamper by an RFC 3161 authority (`HTTPTimeStamper(url)`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "platform-ca"
TSA_NAME = "platform-tsa"
SEAL_NAME = "platform-seal"
_lock = threading.Lock()


def _safe(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,80}", name):
        raise ValueError(f"invalid key name {name!r}")
    return name


class DevPki:
    """Keys and certificates under one folder, created on first use (development and tests)."""

    def __init__(self, keys_dir: Path, organisation: str = "innot") -> None:
        self.dir = keys_dir
        self.organisation = organisation

    def _paths(self, name: str) -> tuple[Path, Path]:
        return self.dir / f"{_safe(name)}.key.pem", self.dir / f"{name}.cert.pem"

    def _ensure_ca(self) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        key_path, cert_path = self._paths(CA_NAME)
        if not cert_path.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
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

    def _write(self, key_path: Path, cert_path: Path, key: rsa.RSAPrivateKey, cert: x509.Certificate) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key_path.chmod(0o600)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    @staticmethod
    def _read(key_path: Path, cert_path: Path) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key, x509.load_pem_x509_certificate(cert_path.read_bytes())

    def ensure(self, name: str, common_name: str, *, timestamping: bool = False) -> tuple[Path, Path]:
        """Key and certificate files of `name`, issued by the platform CA if missing."""
        with _lock:
            ca_key, ca_cert = self._ensure_ca()
            key_path, cert_path = self._paths(name)
            if cert_path.exists():
                return key_path, cert_path
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
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
            self._write(key_path, cert_path, key, builder.sign(ca_key, hashes.SHA256()))
            return key_path, cert_path

    @property
    def ca_cert_path(self) -> Path:
        with _lock:
            self._ensure_ca()
        return self._paths(CA_NAME)[1]


class PdfSigner:
    """Signs PDFs (incremental updates: earlier signatures stay valid) with certificates of a `DevPki`."""

    def __init__(self, pki: DevPki) -> None:
        self.pki = pki

    def _signer(self, name: str, common_name: str) -> Any:
        from pyhanko.sign import signers

        key_path, cert_path = self.pki.ensure(name, common_name)
        chain = (str(self.pki.ca_cert_path),)
        signer = signers.SimpleSigner.load(str(key_path), str(cert_path), ca_chain_files=chain)  # type: ignore[no-untyped-call]
        if signer is None:
            raise RuntimeError(f"cannot load the signing key {key_path}")
        return signer

    def _timestamper(self) -> Any:
        from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
        from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

        key_path, cert_path = self.pki.ensure(TSA_NAME, "innot development timestamp authority", timestamping=True)
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        ca = load_cert_from_pemder(str(self.pki.ca_cert_path))  # type: ignore[no-untyped-call]
        return DummyTimeStamper(
            tsa_cert=load_cert_from_pemder(str(cert_path)),  # type: ignore[no-untyped-call]
            tsa_key=load_private_key_from_pemder(str(key_path), passphrase=None),
            certs_to_embed=SimpleCertificateStore.from_certs([ca]),  # type: ignore[no-untyped-call]
        )

    def sign(
        self, pdf: bytes, *, signer_name: str, common_name: str, field_name: str, reason: str, timestamp: bool = False
    ) -> bytes:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers

        writer = IncrementalPdfFileWriter(BytesIO(pdf))
        metadata = signers.PdfSignatureMetadata(
            field_name=field_name,
            reason=reason,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
        )
        out = BytesIO()
        signers.sign_pdf(
            writer,
            metadata,
            signer=self._signer(signer_name, common_name),
            timestamper=self._timestamper() if timestamp else None,
            output=out,
        )
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
