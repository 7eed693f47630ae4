"""Every template, in both languages, renders as a PDF/A-3b through WeasyPrint's public API: the XMP packet declares
PDF/A-3B in one `rdf:RDF`, the sRGB output intent is there, and the title is the same in the document information
and the XMP (PDF/A wants them equal)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any, cast

import pytest
from lxml import etree
from pypdf import PdfReader

from documents.contracts import render_contract
from documents.invoices import render_invoice, render_payment_reminder
from documents.rendering import PdfExtras, Renderer
from domain.documents import ContractRequest
from domain.money import Money
from domain.terms import MilestonePlan, ProposalTerms
from tests.documents.factories import FR_CLIENT, FR_EXPERT, make_invoice


class RecordingRenderer(Renderer):
    """Our renderer, keeping every PDF it writes."""

    def __init__(self) -> None:
        super().__init__()
        self.pdfs: list[bytes] = []

    def pdf_from_html(self, source: str, extras: PdfExtras | None = None) -> bytes:
        self.pdfs.append(super().pdf_from_html(source, extras))
        return self.pdfs[-1]


def _every_template(language: str) -> tuple[RecordingRenderer, dict[str, bytes]]:
    renderer = RecordingRenderer()
    invoice = make_invoice("domestic", language)
    render_invoice(renderer, invoice, platform_name="innot SAS")
    render_invoice(
        renderer, make_invoice("eu_reverse_charge", language, credit_note_of=invoice), platform_name="innot SAS"
    )
    render_invoice(renderer, invoice.model_copy(update={"kind": "fee_invoice"}), platform_name="innot SAS")
    render_payment_reminder(renderer, invoice, on=invoice.due_date + timedelta(days=12), platform_name="innot SAS")
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
    return renderer, dict(zip(names, renderer.pdfs, strict=True))


RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS = {
    "rdf": RDF,
    "x": "adobe:ns:meta/",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "dc": "http://purl.org/dc/elements/1.1/",
}


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_template_renders_a_pdf_a_3b(language: str) -> None:
    _renderer, pdfs = _every_template(language)
    for name, pdf in pdfs.items():
        assert pdf.count(b"%%EOF") == 1, name
        reader = PdfReader(BytesIO(pdf))
        catalog = cast(Any, reader.trailer["/Root"])
        xmp = etree.fromstring(catalog["/Metadata"].get_object().get_data())
        assert len(xmp.findall("rdf:RDF", NS)) == 1, name
        assert xmp.xpath("string(//rdf:Description/@pdfaid:part)", namespaces=NS) == "3", name
        assert xmp.xpath("string(//rdf:Description/@pdfaid:conformance)", namespaces=NS) == "B", name
        [intent] = catalog["/OutputIntents"]
        intent = intent.get_object()
        assert intent["/S"] == "/GTS_PDFA1" and "sRGB" in intent["/OutputConditionIdentifier"], name
        assert intent["/DestOutputProfile"].get_object()["/N"] == 3, name
        assert reader.metadata is not None and reader.metadata.title
        assert reader.metadata.title == xmp.findtext(".//dc:title/rdf:Alt/rdf:li", namespaces=NS), name
