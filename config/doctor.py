"""What a deployment must not run with in production, checked in one place.

`Settings` refuses to load in production while any check fails (one message listing every problem, so an operator
fixes them all at once); `innot doctor` prints the same checks for any environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

if TYPE_CHECKING:
    from config.settings import Settings

# what the development key generator (documents.signing) writes: its CA, named "<organisation> development CA"
CA_CERT_FILE = "platform-ca.cert.pem"
DEVELOPMENT_CA_SUFFIX = "development CA"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str  # what was found, and what to set when it is not ok


def run_checks(settings: Settings) -> list[Check]:
    return [
        _secret_key(settings),
        _data_keys(settings),
        _database(settings),
        _database_password(settings),
        _temporal(settings),
        _document_store(settings),
        _platform_identity(settings),
        _signing_keys(settings),
        _timestamp_authority(settings),
        _mail(settings),
    ]


def production_problems(settings: Settings) -> list[str]:
    return [f"{c.name}: {c.detail}" for c in run_checks(settings) if not c.ok]


def _secret_key(s: Settings) -> Check:
    from config.settings import PLACEHOLDER_SECRET

    ok = s.secret_key != PLACEHOLDER_SECRET and len(s.secret_key) >= 32
    detail = "set" if ok else "INNOT_SECRET_KEY must be a random value of at least 32 characters"
    return Check("secret key", ok, detail)


def _data_keys(s: Settings) -> Check:
    from config.settings import PLACEHOLDER_DATA_KEY

    ok = PLACEHOLDER_DATA_KEY not in s.data_keys.values()
    detail = f"{len(s.data_keys)} key(s), active {s.active_data_key!r}"
    return Check("data keys", ok, detail if ok else "INNOT_DATA_KEYS must not contain the development placeholder key")


def _database(s: Settings) -> Check:
    try:
        backend = make_url(s.database_url).get_backend_name()
    except ArgumentError:
        return Check("database", False, "INNOT_DATABASE_URL is not a database URL")
    ok = backend == "postgresql"
    return Check("database", ok, backend if ok else f"{backend}: INNOT_DATABASE_URL must point at PostgreSQL")


def _database_password(s: Settings) -> Check:
    """A URL without a password (nor a password file, nor a client certificate) only connects to a server that
    trusts every connection from its network: what can be told without connecting."""
    try:
        url = make_url(s.database_url)
    except ArgumentError:
        return Check("database authentication", False, "INNOT_DATABASE_URL is not a database URL")
    if url.get_backend_name() != "postgresql":
        return Check("database authentication", True, "not applicable (not PostgreSQL)")
    query = url.query
    if url.password or os.environ.get("PGPASSWORD") or os.environ.get("PGPASSFILE") or "sslcert" in query:
        return Check("database authentication", True, "password or client certificate")
    if "passfile" in query:
        return Check("database authentication", True, "password file")
    return Check(
        "database authentication",
        False,
        "INNOT_DATABASE_URL has no password: the server accepts trust connections; use scram-sha-256 and a password",
    )


def _temporal(s: Settings) -> Check:
    ok = bool(s.temporal_address)
    detail = s.temporal_address or "INNOT_TEMPORAL_ADDRESS is unset: the embedded development server would start"
    return Check("temporal", ok, detail)


def _document_store(s: Settings) -> Check:
    ok = s.document_store.startswith("s3://")
    detail = (
        s.document_store.split("?")[0] if ok else "INNOT_DOCUMENT_STORE must be s3://… (a file store on a shared path)"
    )
    return Check("document store", ok, detail)


def _platform_identity(s: Settings) -> Check:
    from stdnum.fr import siren, tva

    from config.settings import PlatformIdentity

    problems = []
    if s.platform == PlatformIdentity() or s.platform.siren == PlatformIdentity().siren:
        problems.append("the placeholder identity (INNOT_PLATFORM__LEGAL_NAME, __SIREN, __VAT_NUMBER, __ADDRESS_LINE…)")
    if not siren.is_valid(s.platform.siren):
        problems.append("INNOT_PLATFORM__SIREN is not a valid SIREN")
    if s.platform.vat_number and not tva.is_valid(s.platform.vat_number):
        problems.append("INNOT_PLATFORM__VAT_NUMBER is not a valid French VAT number")
    detail = "; ".join(problems) if problems else f"{s.platform.legal_name}, SIREN {s.platform.siren}"
    return Check("platform identity", not problems, detail)


def _signing_keys(s: Settings) -> Check:
    """Production brings its own certificates into INNOT_KEYS_DIR; the development generator would create a CA
    of its own there (and certificates nobody outside trusts)."""
    ca = Path(s.keys_dir) / CA_CERT_FILE
    if not ca.exists():
        return Check("signing keys", False, f"no CA certificate in {s.keys_dir}: development keys would be generated")
    try:
        cert = x509.load_pem_x509_certificate(ca.read_bytes())
    except ValueError:
        return Check("signing keys", False, f"{ca} is not a PEM certificate")
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = str(names[0].value) if names else ""
    if common_name.endswith(DEVELOPMENT_CA_SUFFIX):
        return Check("signing keys", False, f"{ca} is the development CA ({common_name}): install real certificates")
    return Check("signing keys", True, common_name)


def _mail(s: Settings) -> Check:
    ok = bool(s.smtp_url)
    detail = (s.smtp_url or "").split("@")[-1] if ok else "INNOT_SMTP_URL is unset: nobody would be e-mailed"
    return Check("mail server", ok, detail)


def _timestamp_authority(s: Settings) -> Check:
    url = s.tsa_url or ""
    ok = url.startswith("https://")
    detail = url if ok else "INNOT_TSA_URL must be an RFC 3161 time-stamping authority (https://…), not the local key"
    return Check("time-stamping authority", ok, str(detail))
