"""`innot documents verify FILE` and `innot ledger verify|export`: check what the platform issued, offline.

Wire them in cli/main.py with `app.add_typer(documents_app, name="documents")` and
`app.add_typer(ledger_app, name="ledger")`. Every check exits 1 when anything is wrong, and says what.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from config.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from documents.schematron import SchematronValidator

documents_app = typer.Typer(help="check documents the platform issued", no_args_is_help=True)
ledger_app = typer.Typer(help="the public transparency ledger", no_args_is_help=True)
console = Console(highlight=False)


@lru_cache(maxsize=1)
def _schematron() -> SchematronValidator:
    from documents.schematron import SchematronValidator

    return SchematronValidator()  # compiling the stylesheets takes seconds: once per process


def _registered(sha256: str) -> str | None:
    """How the platform's records know this exact file (kind, number, stage), or None."""
    from sqlalchemy import select

    from store.db import make_engine
    from store.models.legal import DocumentRecord

    engine = make_engine(get_settings().database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                select(DocumentRecord.kind, DocumentRecord.number, DocumentRecord.stage).where(
                    DocumentRecord.sha256 == sha256
                )
            ).first()
    finally:
        engine.dispose()
    if row is None:
        return None
    kind, number, stage = row
    return f"{kind}{' ' + number if number else ''} ({stage})"


@documents_app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="a PDF the platform issued")],
    trust_root: Annotated[
        Path | None, typer.Option(help="CA certificate the signatures must chain to (default: the platform CA)")
    ] = None,
    offline: Annotated[bool, typer.Option(help="skip the look-up of the file in the platform's records")] = False,
) -> None:
    """Check the PAdES signatures, the embedded Factur-X XML (XSD, EN 16931, and the French CTC rules when the
    seller is established in France) and that this exact file is one the platform issued."""
    from documents.facturx import extract_facturx
    from documents.signing import DevPki
    from documents.verification import verify_document

    settings = get_settings()
    data = file.read_bytes()
    root = trust_root or DevPki(settings.keys_dir, organisation=settings.platform.legal_name).ca_cert_path
    report = verify_document(data, trust_root=root)
    problems = list(report.problems)
    lines: list[str] = []
    for s in report.signatures:
        state = "ok" if not s.problems else "; ".join(s.problems)
        when = f"{s.timestamp.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if s.timestamp else ""
        stamp = f", timestamped {when} by {s.timestamp_authority}" if s.timestamp else ""
        lines.append(f"signature {s.field_name} by {s.signer}{stamp}: {state}")
        problems += [f"signature {s.field_name}: {p}" for p in s.problems]
    xml = None
    if report.facturx is not None:
        try:
            xml = extract_facturx(data)
        except Exception:  # already reported by verify_document
            xml = None
    if xml is not None and report.facturx == "valid":
        checked = _schematron().validate(xml)
        lines.append(f"Factur-X XML: XSD valid, {len(checked.failures)} schematron rule(s) failed")
        lines.append(f"rule sets: {checked.summary()}")
        problems += [f"Factur-X: {f}" for f in checked.failures]
    elif report.facturx is None:
        lines.append("Factur-X XML: none embedded")
    if not report.signatures and xml is None and offline:
        problems.append("the file carries neither a signature nor Factur-X XML: nothing can be checked offline")
    if not offline:
        known = _registered(hashlib.sha256(data).hexdigest())
        if known is None:
            problems.append("this exact file is not among the documents the platform issued (modified, or not ours)")
        else:
            lines.append(f"issued by the platform: {known}")
    console.print(f"{file}: sha256 {report.sha256}")
    for line in lines:
        console.print(f"  {line}")
    if problems:
        console.print(f"[red]INVALID: {len(problems)} problem(s)[/red]")
        for p in problems:
            console.print(f"  - {p}")
        raise typer.Exit(1)
    console.print("[green]OK[/green]")


@contextmanager
def _session() -> Iterator[Session]:
    """One session on the configured database; the engine (and its pool) is closed on the way out."""
    from store.db import make_engine, make_session_factory

    engine = make_engine(get_settings().database_url)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


@ledger_app.command("verify")
def ledger_verify(
    head: Annotated[
        str | None, typer.Option(help="a head hash published earlier: also catches removed last entries")
    ] = None,
) -> None:
    """Recompute every entry's hash and link; exit 1 on an edited, removed or reordered entry."""
    from api.routers.public import chain_status

    with _session() as session:
        status = chain_status(session, head)
    if not status.intact:
        console.print(f"[red]ledger BROKEN[/red] ({status.entries} entries)")
        for p in status.problems:
            console.print(f"  - {p}")
        raise typer.Exit(1)
    console.print(f"[green]ledger intact[/green]: {status.entries} entries, head {status.head}")


@ledger_app.command("export")
def ledger_export(
    out: Annotated[Path, typer.Option("--out", dir_okay=False, writable=True, help="CSV file to write")],
) -> None:
    """Write the public CSV: totals per period, community and kind, then every entry with its hashes."""
    from store.legal import export_ledger_csv

    with _session() as session:
        text = export_ledger_csv(session)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(f"{text.count(chr(10)) - 2} lines written to {out}")
