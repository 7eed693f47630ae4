"""HTML -> PDF/A-3b through WeasyPrint's public API, with one Jinja2 environment, one FontConfiguration and one
parsed stylesheet per process (build one `Renderer` and share it): each document is laid out once and its PDF
written once, attachments and XMP metadata included (`PdfExtras`), so that nothing rewrites it afterwards."""

from __future__ import annotations

import threading
from base64 import b64encode
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from documents.labels import LABELS
from domain.money import round_money

TEMPLATES = Path(__file__).resolve().parent / "templates"
LOCALES = {"fr": "fr_FR", "en": "en_GB"}


def money(value: Decimal, currency: str, language: str) -> str:
    """Quantize first: babel rounds half-even, the invoice model rounds half-up."""
    return str(format_currency(round_money(value), currency, locale=LOCALES[language]))


def unit_price(value: Decimal, currency: str, language: str) -> str:
    """Unit prices keep their precision (up to 4 decimals): only totals are rounded to the cent."""
    return str(format_currency(value, currency, locale=LOCALES[language], decimal_quantization=False))


def number(value: Decimal, language: str) -> str:
    return str(format_decimal(value.normalize(), locale=LOCALES[language]))


def exchange_rate(value: Decimal, language: str) -> str:
    """A conversion rate with every decimal it was applied with (up to 6), not rounded to 3 like `number`."""
    return str(format_decimal(value.normalize(), format="#,##0.######", locale=LOCALES[language]))


def long_date(value: date | datetime, language: str) -> str:
    return str(format_date(value, format="long", locale=LOCALES[language]))


PDF_VARIANT = "pdf/a-3b"
OUTPUT_INTENT = "--innot-srgb"


def _output_intent(color_profiles: dict[str, Any]) -> Any:
    """The sRGB output intent of PDF/A, WeasyPrint's own profile declared once by a CSS `@color-profile` rule
    (`output_intent="srgb"` opens the profile file at each document and leaves it open)."""
    from importlib.resources import as_file, files

    from weasyprint import CSS

    with as_file(files("weasyprint.pdf") / "sRGB2014.icc") as icc:
        rule = f"@color-profile {OUTPUT_INTENT} {{ src: url({icc.as_uri()}); components: r, g, b }}"
        return CSS(string=rule, color_profiles=color_profiles)


@dataclass(frozen=True)
class PdfAttachment:
    """A file embedded in the PDF/A-3 (listed in the catalog's /AF with its relationship)."""

    name: str
    data: bytes
    mime_type: str
    description: str
    relationship: str = "Data"  # Data, Source, Alternative, Supplement or Unspecified


@dataclass(frozen=True)
class PdfExtras:
    """What a PDF carries besides its pages, written by WeasyPrint in the same pass as the pages.

    `author`, `subject` and `keywords` go both to the document information and to the XMP packet (PDF/A wants
    them equal); `xmp` holds `rdf:Description` elements (with their namespace declarations) added to the XMP
    packet's `rdf:RDF`."""

    attachments: tuple[PdfAttachment, ...] = ()
    author: str | None = None
    subject: str | None = None
    keywords: tuple[str, ...] = ()
    xmp: tuple[bytes, ...] = ()
    page_mode: str | None = None  # e.g. "UseAttachments": the viewer opens the attachments panel


def _weasy_attachment(attachment: PdfAttachment) -> Any:
    from weasyprint import Attachment

    # a data: URL carries the MIME type, so that the /Subtype does not depend on the machine's mime.types
    url = f"data:{attachment.mime_type};base64,{b64encode(attachment.data).decode('ascii')}"
    now = datetime.now(UTC)  # WeasyPrint writes the dates with a "Z"
    return Attachment(url=url, name=attachment.name, description=attachment.description, created=now,
                      modified=now, relationship=attachment.relationship)  # fmt: skip


def _add_extras(metadata: Any, extras: PdfExtras) -> None:
    """Complete the document's metadata with `extras`.

    The XMP descriptions go inside WeasyPrint's own `rdf:RDF`, through the `generate_rdf_metadata` hook of
    `DocumentMetadata`: its `xmp_metadata` list would add a second `rdf:RDF` to the packet, which the XMP
    specification does not allow (one per `x:xmpmeta`) and which readers built on Adobe's XMP toolkit, veraPDF
    included, skip, losing the Factur-X properties."""
    from weasyprint.document import DocumentMetadata

    if extras.author:
        metadata.authors = [extras.author]
    if extras.subject:
        metadata.description = extras.subject
    if extras.keywords:
        metadata.keywords = list(extras.keywords)
    if not extras.xmp:
        return

    def generate_rdf_metadata(variant: str, version: int, conformance: str) -> bytes:
        rdf: bytes = DocumentMetadata.generate_rdf_metadata(metadata, variant, version, conformance)
        end = rdf.rindex(b"</rdf:RDF>")
        return rdf[:end] + b"".join(extras.xmp) + rdf[end:]

    metadata.generate_rdf_metadata = generate_rdf_metadata


def _finisher(extras: PdfExtras) -> Any:
    """What WeasyPrint's `finisher` sets in the catalog once the PDF/A structure is built."""

    def finish(_document: Any, pdf: Any) -> None:
        if extras.page_mode:
            pdf.catalog["PageMode"] = f"/{extras.page_mode}"
        if "AF" in pdf.catalog:  # WeasyPrint lists each PDF/A-3 attachment twice in /AF: once is enough
            pdf.catalog["AF"] = type(pdf.catalog["AF"])(dict.fromkeys(pdf.catalog["AF"]))

    return finish


class Renderer:
    def __init__(self, templates_dir: Path = TEMPLATES) -> None:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        self.templates_dir = templates_dir
        self.env = Environment(
            loader=FileSystemLoader(templates_dir),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(
            money=money,
            unit_price=unit_price,
            number=number,
            exchange_rate=exchange_rate,
            long_date=long_date,
            labels=LABELS,
        )
        self.font_config = FontConfiguration()
        self.color_profiles: dict[str, Any] = {}
        self.stylesheets = [
            _output_intent(self.color_profiles),
            CSS(filename=str(templates_dir / "documents.css"), font_config=self.font_config),
        ]
        self._lock = threading.Lock()  # WeasyPrint shares the font configuration; lay out one at a time

    def html(self, template: str, *, language: str, **context: Any) -> str:
        return self.env.get_template(template).render(lang=language, t=LABELS[language], **context)

    def pdf(
        self, template: str, *, language: str, title: str, extras: PdfExtras | None = None, **context: Any
    ) -> bytes:
        """Render a template to a PDF/A-3b (the archival format Factur-X requires)."""
        return self.pdf_from_html(self.html(template, language=language, title=title, **context), extras)

    def pdf_from_html(self, source: str, extras: PdfExtras | None = None) -> bytes:
        """Lay out the HTML once and write the PDF/A-3b once, with `extras` (attachments, metadata)."""
        from weasyprint import HTML

        extras = extras or PdfExtras()
        with self._lock:
            document = HTML(string=source, base_url=str(self.templates_dir)).render(
                stylesheets=self.stylesheets, font_config=self.font_config, color_profiles=self.color_profiles,
                pdf_variant=PDF_VARIANT, output_intent=OUTPUT_INTENT,
            )  # fmt: skip
            _add_extras(document.metadata, extras)
            pdf: bytes = document.write_pdf(
                pdf_variant=PDF_VARIANT,
                output_intent=OUTPUT_INTENT,
                attachments=[_weasy_attachment(a) for a in extras.attachments],
                finisher=_finisher(extras),
            )
            return pdf
