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
from collections.abc import Callable
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
MAX_CACHED_SIGNERS = 1024
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
        """Key and certificate files of `name`, issued by the platform CA if missing.

        An existing certificate is returned without touching the CA key (loading an RSA key costs ~25 ms)."""
        key_path, cert_path = self._paths(name)
        if cert_path.exists():
            return key_path, cert_path
        with _lock:
            if cert_path.exists():  # another thread issued it meanwhile
                return key_path, cert_path
            ca_key, ca_cert = self._ensure_ca()
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
        cert_path = self._paths(CA_NAME)[1]
        if not cert_path.exists():
            with _lock:
                self._ensure_ca()
        return cert_path


@dataclass(frozen=True)
class _Material:
    """A signing key parsed once, its certificate and the CA chain, in pyHanko's and cryptography's forms."""

    key: rsa.RSAPrivateKey
    key_info: Any  # asn1crypto PrivateKeyInfo
    cert: Any  # asn1crypto Certificate
    chain: tuple[Any, ...]
    stamp: tuple[int, int, int]  # mtimes of key, certificate and CA certificate: a replaced file is reloaded


def _load_material(key_path: Path, cert_path: Path, ca_path: Path) -> _Material:
    from asn1crypto import keys as asn1_keys  # type: ignore[import-untyped]
    from pyhanko.keys import load_cert_from_pemder

    stamp = (key_path.stat().st_mtime_ns, cert_path.stat().st_mtime_ns, ca_path.stat().st_mtime_ns)
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise RuntimeError(f"the signing key {key_path} is not an RSA key")
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return _Material(
        key=key,
        key_info=asn1_keys.PrivateKeyInfo.load(der),
        cert=load_cert_from_pemder(str(cert_path)),  # type: ignore[no-untyped-call]
        chain=(load_cert_from_pemder(str(ca_path)),),  # type: ignore[no-untyped-call]
        stamp=stamp,
    )


def _rsa_sign(key: rsa.RSAPrivateKey, data: bytes, digest_algorithm: str) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash

    return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))


def _make_signer(material: _Material) -> Any:
    """pyHanko's `SimpleSigner` re-parses its DER key (with OpenSSL's full RSA check, ~25 ms) at every signature:
    this one signs with the key object parsed once (PKCS#1 v1.5, the mechanism of our RSA certificates)."""
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    class KeptKeySigner(SimpleSigner):
        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
            if mechanism != "rsassa_pkcs1v15":
                return bytes(super().sign_raw(data, digest_algorithm))
            return _rsa_sign(material.key, data, digest_algorithm)

    return KeptKeySigner(
        signing_cert=material.cert,
        signing_key=material.key_info,
        cert_registry=SimpleCertificateStore.from_certs(list(material.chain)),  # type: ignore[no-untyped-call]
    )


def _make_timestamper(material: _Material) -> Any:
    """The development TSA (pyHanko's dummy timestamper), signing with the key parsed once."""
    from asn1crypto import cms, core
    from cryptography.hazmat.primitives import hashes as crypto_hashes
    from pyhanko.sign import general
    from pyhanko.sign.general import simple_cms_attribute
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
    from pyhanko_certvalidator.registry import SimpleCertificateStore
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash

    class KeptKeyTimeStamper(DummyTimeStamper):
        def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, at: dt.datetime) -> tuple[bytes, Any]:
            digest = crypto_hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
            digest.update(tst_info_data)
            attribute: Callable[[str, object], Any] = simple_cms_attribute
            signed_attrs = cms.CMSAttributes(
                [
                    attribute("content_type", "tst_info"),
                    attribute("signing_time", cms.Time({"utc_time": core.UTCTime(at)})),
                    attribute("signing_certificate", general.as_signing_certificate(self.tsa_cert)),
                    attribute("message_digest", digest.finalize()),
                ]
            )
            return _rsa_sign(material.key, signed_attrs.dump(), md_algorithm.upper()), signed_attrs

    return KeptKeyTimeStamper(
        tsa_cert=material.cert,
        tsa_key=material.key_info,
        certs_to_embed=SimpleCertificateStore.from_certs(list(material.chain)),  # type: ignore[no-untyped-call]
    )


_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def _reserved_bytes(signed: bytes) -> int | None:
    """What pyHanko reserved for the last signature's CMS container, in hex digits as its `bytes_reserved` counts
    them: the gap its /ByteRange leaves between `<` and `>`."""
    ranges = _BYTE_RANGE.findall(signed[-65536:])
    if not ranges:
        return None
    _start, first_len, second_start, _second_len = (int(v) for v in ranges[-1])
    return second_start - first_len - 2


class PdfSigner:
    """Signs PDFs (incremental updates: earlier signatures stay valid) with certificates of a `DevPki`.

    Build one per process and share it: keys, certificates, the signers and the timestamper are loaded once
    (reloaded when a key or certificate file is replaced), and the size of the signature container is estimated
    once per signer and kind (pyHanko otherwise makes a whole dummy signature, with a dummy timestamp, first)."""

    def __init__(self, pki: DevPki) -> None:
        self.pki = pki
        self._cache_lock = threading.Lock()
        self._materials: dict[str, _Material] = {}
        self._signers: dict[str, Any] = {}
        self._timestamper: Any = None
        self._reserved: dict[tuple[str, bool], int] = {}

    def _material(self, name: str, common_name: str, *, timestamping: bool = False) -> tuple[_Material, bool]:
        """(material, fresh): fresh when just (re)loaded from the files."""
        key_path, cert_path = self.pki.ensure(name, common_name, timestamping=timestamping)
        ca_path = self.pki.ca_cert_path
        cached = self._materials.get(name)
        if cached is not None:
            stamp = (key_path.stat().st_mtime_ns, cert_path.stat().st_mtime_ns, ca_path.stat().st_mtime_ns)
            if stamp == cached.stamp:
                return cached, False
        material = _load_material(key_path, cert_path, ca_path)
        if len(self._materials) >= MAX_CACHED_SIGNERS:  # forget the signer loaded first (each user signs rarely)
            forgotten = next(iter(self._materials))
            del self._materials[forgotten]
            self._signers.pop(forgotten, None)
            self._reserved.pop((forgotten, False), None)
            self._reserved.pop((forgotten, True), None)
        self._materials[name] = material
        return material, True

    def _signer(self, name: str, common_name: str) -> Any:
        with self._cache_lock:
            material, fresh = self._material(name, common_name)
            if fresh or name not in self._signers:
                self._signers[name] = _make_signer(material)
                self._reserved.pop((name, False), None)
                self._reserved.pop((name, True), None)
            return self._signers[name]

    def _timestamper_now(self) -> Any:
        with self._cache_lock:
            material, fresh = self._material(TSA_NAME, "innot development timestamp authority", timestamping=True)
            if fresh or self._timestamper is None:
                self._timestamper = _make_timestamper(material)
                self._reserved = {k: v for k, v in self._reserved.items() if not k[1]}
            return self._timestamper

    def sign(
        self, pdf: bytes, *, signer_name: str, common_name: str, field_name: str, reason: str, timestamp: bool = False
    ) -> bytes:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers
        from pyhanko.sign.general import SigningError

        signer = self._signer(signer_name, common_name)
        timestamper = self._timestamper_now() if timestamp else None
        metadata = signers.PdfSignatureMetadata(
            field_name=field_name,
            reason=reason,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
        )
        key = (signer_name, timestamp)

        def attempt(reserved: int | None) -> bytes:
            out = BytesIO()
            writer = IncrementalPdfFileWriter(BytesIO(pdf))
            signers.sign_pdf(
                writer, metadata, signer=signer, timestamper=timestamper, bytes_reserved=reserved, output=out
            )
            return out.getvalue()

        reserved = self._reserved.get(key)
        if reserved is not None:
            try:
                return attempt(reserved)
            except SigningError:  # the container outgrew the estimate (e.g. a TSA with a longer chain): estimate again
                with self._cache_lock:
                    self._reserved.pop(key, None)
        signed = attempt(None)
        estimated = _reserved_bytes(signed)
        if estimated is not None:
            with self._cache_lock:
                self._reserved[key] = estimated
        return signed


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
