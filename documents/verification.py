"""Offline verification of what the platform issued: every PAdES signature and its timestamp token with pyHanko's
validator (trusting only the given CA), and the embedded Factur-X XML against its XSD."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from pathlib import Path


@dataclass
class SignatureCheck:
    field_name: str
    signer: str
    intact: bool
    valid: bool
    trusted: bool
    covers_whole_document: bool
    timestamped: bool  # carries a signature timestamp token (RFC 3161), checked like the signature
    timestamp: datetime | None = None  # the time the timestamp authority certifies
    timestamp_authority: str | None = None  # the subject of its certificate
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
    """Check every PAdES signature and its timestamp token with pyHanko's validator, offline and trusting only
    `trust_root`, and the embedded Factur-X XML (XSD)."""
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
            token = status.timestamp_validity
            if token is not None:
                check.timestamped, check.timestamp = True, token.timestamp
                check.timestamp_authority = token.signing_cert.subject.human_friendly
                if not (token.intact and token.valid):
                    check.problems.append("the timestamp token does not match the signature or is not intact")
                elif not token.trusted:
                    check.problems.append("the timestamp authority's certificate does not chain to the platform CA")
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
