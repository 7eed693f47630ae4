"""Our fast path through WeasyPrint changes nothing on the page: every template, in both languages, parsed as XML
and styled with the lean user-agent stylesheet (documents/templates/user_agent.css), renders pixel for pixel as
WeasyPrint's own HTML5 parser and full user-agent stylesheet render it; and it stays on the fast path (well-formed
markup, only the elements the lean stylesheet covers)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from PIL import Image, ImageChops

from documents.contracts import render_contract
from documents.invoices import render_invoice, render_payment_reminder
from documents.rendering import ALLOWED_TAGS, TEMPLATES, PdfExtras, Renderer, parse_markup
from domain.documents import ContractRequest
from domain.money import Money
from domain.terms import MilestonePlan, ProposalTerms
from tests.documents.factories import FR_CLIENT, FR_EXPERT, make_invoice


class RecordingRenderer(Renderer):
    """Our renderer, keeping the HTML of every page it lays out."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def pdf_from_html(self, source: str, extras: PdfExtras | None = None) -> bytes:
        self.sources.append(source)
        return super().pdf_from_html(source, extras)


def _every_template(language: str) -> tuple[RecordingRenderer, dict[str, str]]:
    renderer = RecordingRenderer()
    invoice = make_invoice("domestic", language)
    render_invoice(renderer, invoice, platform_name="innot SAS")
    render_invoice(
        renderer, make_invoice("eu_reverse_charge", language, credit_note_of=invoice), platform_name="innot SAS"
    )
    render_invoice(renderer, invoice.model_copy(update={"kind": "fee_invoice"}), platform_name="innot SAS")
    render_payment_reminder(renderer, invoice, days_late=12, platform_name="innot SAS")
    terms = ProposalTerms(
        approach="Diagnostic financier, puis plan de trésorerie sur 13 semaines.",
        pricing="daily", daily_rate=Decimal("850.00"), days=Decimal("6.0"), currency="EUR",
        milestones=[
            MilestonePlan(title="Diagnostic", description="Entretiens et analyse", amount=Decimal("2550.00"),
                          due_date=date(2026, 10, 1)),
            MilestonePlan(title="Plan", amount=Decimal("2550.00"), due_date=date(2026, 10, 15)),
        ],
    )  # fmt: skip
    request = ContractRequest(
        mission_id=uuid.uuid4(), client_org_id=uuid.uuid4(), expert_id=uuid.uuid4(), mission_title="Trésorerie",
        language=language, confidential=True, terms=terms, total=Money(amount=Decimal("5100.00")),
    )  # fmt: skip
    render_contract(renderer, request, client=FR_CLIENT, expert=FR_EXPERT, platform_name="innot SAS",
                    issued_on=date(2026, 9, 1))  # fmt: skip
    names = ["invoice", "credit_note", "fee_invoice", "reminder", "contract"]
    return renderer, dict(zip(names, renderer.sources, strict=True))


def _pages(pdf: bytes) -> list[Image.Image]:
    """The pages rasterised by poppler (one binary PPM per page, back to back on stdout)."""
    executable = shutil.which("pdftoppm")
    assert executable, "pdftoppm missing: apt-get install poppler-utils (a system dependency of make test)"
    raw = subprocess.run([executable, "-r", "60", "-"], input=pdf, capture_output=True, check=True).stdout
    pages, offset = [], 0
    while offset < len(raw):
        magic, width, height, depth, _ = raw[offset:].split(maxsplit=4)
        assert magic == b"P6" and depth == b"255"
        header = len(b" ".join((magic, width, height, depth))) + 1
        size = int(width) * int(height) * 3
        pages.append(Image.frombytes("RGB", (int(width), int(height)), raw[offset + header : offset + header + size]))
        offset += header + size
    assert pages, "poppler rendered no page"
    return pages


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.add(tag)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_template_renders_as_with_the_full_html5_stylesheet(language: str) -> None:
    from weasyprint import HTML

    renderer, sources = _every_template(language)
    for name, source in sources.items():
        parser = _Tags()
        parser.feed(source)
        assert parser.tags <= ALLOWED_TAGS, f"{name} uses {parser.tags - ALLOWED_TAGS}: style them in user_agent.css"
        assert parse_markup(source) is not None, f"{name} is not well-formed: it falls back to the slow HTML parser"

        ours = _pages(renderer.pdf_from_html(source))
        full = HTML(string=source, base_url=str(TEMPLATES)).write_pdf(
            stylesheets=[renderer.stylesheet], font_config=renderer.font_config
        )
        reference = _pages(full)
        assert len(ours) == len(reference), name
        for number, (page, expected) in enumerate(zip(ours, reference, strict=True), start=1):
            assert ImageChops.difference(page, expected).getbbox() is None, f"{name} page {number} differs"


def test_keeping_serialised_objects_for_the_file_identifier_writes_the_same_bytes(
    renderer: Renderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pydyf serialises every object twice (the second time to hash the PDF/A /ID); keeping the first bytes writes
    exactly the file pydyf writes alone, identifier included, document after document."""
    import documents.rendering as rendering

    html = "<html><head><title>t</title></head><body><p>Agreed.</p><p>Signed.</p></body></html>"
    renderer.pdf_from_html(html)  # Pillow serialises the sRGB profile differently the first time only
    kept = [renderer.pdf_from_html(html) for _ in range(2)]
    monkeypatch.setattr(rendering, "_serialised_once", lambda _document, _pdf: None)
    assert kept == [renderer.pdf_from_html(html)] * 2
