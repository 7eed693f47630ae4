"""An `Invoice` to a Factur-X PDF: build the CII XML, check it against the XSD, then lay out and write the
PDF/A-3b once with the XML attached and the Factur-X XMP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from documents.facturx import build_cii_xml, check_xsd, facturx_extras, french_notes, payment_terms_text
from documents.rendering import Renderer
from domain.invoice import Invoice
from domain.late_payment import late_charges


@dataclass(frozen=True)
class RenderedInvoice:
    pdf: bytes
    xml: bytes


TEMPLATES = {"fee_invoice": "fee_invoice.html", "credit_note": "credit_note.html"}  # default: invoice.html


def render_invoice(renderer: Renderer, invoice: Invoice, *, platform_name: str) -> RenderedInvoice:
    fr = invoice.language == "fr"
    notes = french_notes(invoice)
    xml = build_cii_xml(invoice)
    check_xsd(xml)  # an invoice whose XML is invalid is never issued
    pdf = renderer.pdf(
        TEMPLATES.get(invoice.kind, "invoice.html"),
        language=invoice.language,
        title=f"{invoice.number} — {invoice.seller.name}",
        invoice=invoice,
        platform_name=platform_name,
        mandate=invoice.mandate_wording_fr if fr else invoice.mandate_wording_en,
        vat_wording=invoice.vat.wording(invoice.language),
        payment_terms=payment_terms_text(invoice),
        legal_notes=[text for code, text in notes if code in {"PMD", "PMT", "AAB"}],
        extras=facturx_extras(xml, invoice=invoice),
    )
    return RenderedInvoice(pdf=pdf, xml=xml)


def render_payment_reminder(renderer: Renderer, invoice: Invoice, *, on: date, platform_name: str) -> bytes:
    """A reminder for an unpaid invoice on `on` (a plain PDF/A: the invoice itself stays the legal document), with
    the late-payment interest and the fixed recovery indemnity owed by then (domain.late_payment)."""
    charges = late_charges(invoice, on)
    return renderer.pdf(
        "reminder.html",
        language=invoice.language,
        title=f"{invoice.number} — reminder",
        invoice=invoice,
        days_late=charges.days_late,
        charges=charges,
        on=on,
        platform_name=platform_name,
    )
