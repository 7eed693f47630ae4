"""HTML -> PDF/A-3b with one Jinja2 environment, one WeasyPrint FontConfiguration and one parsed stylesheet
per process (build one `Renderer` and share it): each document is laid out once and its PDF written once,
attachments and XMP metadata included (`PdfExtras`), so that nothing rewrites it afterwards."""

from __future__ import annotations

import threading
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
OUTPUT_INTENT = "innot-srgb"


def _srgb_profile() -> Any:
    """The sRGB output intent of PDF/A, loaded once (WeasyPrint's own srgb path leaves the file open)."""
    from importlib.resources import files

    from weasyprint.css import ColorProfile

    with (files("weasyprint.pdf") / "sRGB2014.icc").open("rb") as icc:
        return ColorProfile(icc, "sRGB2014.icc", "relative-colorimetric", (["r"], ["g"], ["b"]))


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
    packet's `rdf:RDF`, which then stays uncompressed."""

    attachments: tuple[PdfAttachment, ...] = ()
    author: str | None = None
    subject: str | None = None
    keywords: tuple[str, ...] = ()
    xmp: tuple[bytes, ...] = ()
    page_mode: str | None = None  # e.g. "UseAttachments": the viewer opens the attachments panel


def _weasy_attachment(attachment: PdfAttachment, url_fetcher: Any) -> Any:
    from base64 import b64encode

    from weasyprint import Attachment

    # a data: URL carries the MIME type, so that the /Subtype does not depend on the machine's mime.types
    url = f"data:{attachment.mime_type};base64,{b64encode(attachment.data).decode('ascii')}"
    now = datetime.now(UTC)  # WeasyPrint writes the dates with a "Z"
    return Attachment(url=url, name=attachment.name, description=attachment.description, created=now,
                      modified=now, relationship=attachment.relationship, url_fetcher=url_fetcher)  # fmt: skip


def _with_extras(metadata: Any, extras: PdfExtras) -> Any:
    """The document's WeasyPrint metadata, completed with `extras` (same object type, one more XMP part)."""
    from weasyprint.pdf.metadata import DocumentMetadata

    class ExtendedMetadata(DocumentMetadata):  # type: ignore[misc]
        def generate_rdf_metadata(self, variant: str, version: int, conformance: str) -> bytes:
            rdf: bytes = super().generate_rdf_metadata(variant, version, conformance)
            end = rdf.rindex(b"</rdf:RDF>")
            return rdf[:end] + b"".join(extras.xmp) + rdf[end:]

        def include_in_pdf(self, pdf: Any, variant: str, version: int, conformance: str, compress: bool) -> None:
            # uncompressed, like a Factur-X XMP packet is usually found (and readable by plain-text tools)
            super().include_in_pdf(pdf, variant, version, conformance, compress and not extras.xmp)

    extended = ExtendedMetadata()
    extended.__dict__.update(metadata.__dict__)
    if extras.author:
        extended.authors = [extras.author]
    if extras.subject:
        extended.description = extras.subject
    if extras.keywords:
        extended.keywords = list(extras.keywords)
    return extended


# The elements our templates may use: the lean user-agent stylesheet (templates/user_agent.css) styles these
# exactly as WeasyPrint's HTML5 stylesheet does. A template using another element must add its rules there.
ALLOWED_TAGS = frozenset(
    {"html", "head", "meta", "title", "body", "div", "p", "h1", "h2", "h3", "strong", "b", "em", "small", "br",
     "table", "thead", "tbody", "tr", "th", "td"}
)  # fmt: skip


def parse_markup(source: str) -> Any | None:
    """The element tree of a page our templates wrote, parsed as XML by expat (~0.05 ms, where WeasyPrint's
    pure-Python HTML5 parser takes ~2.5 ms): the templates write well-formed markup (`<br/>`, explicit `<tbody>`)
    whose tree is the one the HTML5 parser builds. None when the markup is not well-formed XML."""
    from xml.etree.ElementTree import ParseError, fromstring

    try:
        # our own template output: user data in it is escaped, so it carries no DTD or entity declaration
        return fromstring(source)  # noqa: S314
    except ParseError:
        return None


def _document_html_class(templates_dir: Path, url_fetcher: Any) -> Any:
    """WeasyPrint's `HTML`, with our lean user-agent stylesheet in place of the HTML5 one (whose hundreds of
    rules are matched against every element: ~15 % of a page's render time), built from our parsed markup, with
    the renderer's URL fetcher (WeasyPrint builds a urllib opener per document otherwise: ~0.2 ms)."""
    import cssselect2  # type: ignore[import-untyped]
    from weasyprint import CSS, HTML
    from weasyprint.css.counters import CounterStyle

    counter_style = CounterStyle()
    user_agent = CSS(filename=str(templates_dir / "user_agent.css"), counter_style=counter_style)

    class DocumentHTML(HTML):  # type: ignore[misc]
        @classmethod
        def from_markup(cls, source: str, base_url: str) -> Any:
            root = parse_markup(source)
            if root is None:  # not well-formed XML: WeasyPrint's HTML5 parser reads it
                return cls(string=source, base_url=base_url, url_fetcher=url_fetcher)
            html = cls.__new__(cls)  # what HTML.__init__ sets, from our tree
            html.base_url, html.url_fetcher, html.media_type = base_url, url_fetcher, "print"
            html.wrapper_element = cssselect2.ElementWrapper.from_html_root(root, content_language=None)
            html.etree_element = html.wrapper_element.etree_element
            return html

        def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
            return [user_agent]

        def _ua_counter_style(self) -> list[Any]:
            return [counter_style]

    return DocumentHTML


_ONCE: dict[type, type] = {}


def _serialised_once(_document: Any, pdf: Any) -> None:
    """WeasyPrint's last step before pydyf writes the file: make each object keep its serialised bytes.

    For the PDF/A file identifier, pydyf serialises every object a second time (and compresses every stream again,
    at zlib level 9) to hash the whole; the same bytes, kept from the first time, hash the same (~3 ms a page).
    Nothing changes an object between the two; bytes kept from an earlier document are forgotten here."""
    for obj in pdf.objects:
        cls = type(obj)
        once = _ONCE.get(cls)
        if once is None:
            serialise = cls.data.fget

            def data(self: Any, serialise: Any = serialise) -> bytes:
                kept: bytes | None = self.__dict__.get("_serialised")
                if kept is None:
                    kept = self.__dict__["_serialised"] = serialise(self)
                return kept

            once = _ONCE[cls] = type(f"Once{cls.__name__}", (cls,), {"data": property(data)})
            _ONCE[once] = once  # an object shared with an earlier document is already write-once
        obj.__class__ = once
        obj.__dict__.pop("_serialised", None)


class Renderer:
    def __init__(self, templates_dir: Path = TEMPLATES) -> None:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration
        from weasyprint.urls import URLFetcher

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
        self.stylesheet = CSS(filename=str(templates_dir / "documents.css"), font_config=self.font_config)
        self._url_fetcher = URLFetcher()  # used under the lock, like the font configuration
        self._html = _document_html_class(templates_dir, self._url_fetcher)
        self._srgb = _srgb_profile()
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
        with self._lock:
            document = self._html.from_markup(source, str(TEMPLATES)).render(
                stylesheets=[self.stylesheet], font_config=self.font_config, pdf_variant=PDF_VARIANT,
                output_intent=OUTPUT_INTENT,
            )  # fmt: skip
            document.color_profiles[OUTPUT_INTENT] = self._srgb
            if extras is None:
                pdf: bytes = document.write_pdf(
                    pdf_variant=PDF_VARIANT, output_intent=OUTPUT_INTENT, finisher=_serialised_once
                )
                return pdf
            document.metadata = _with_extras(document.metadata, extras)

            def finish(_document: Any, pdf: Any) -> None:
                if extras.page_mode:
                    pdf.catalog["PageMode"] = f"/{extras.page_mode}"
                if "AF" in pdf.catalog:  # WeasyPrint lists each PDF/A-3 attachment twice in /AF: once is enough
                    pdf.catalog["AF"] = type(pdf.catalog["AF"])(dict.fromkeys(pdf.catalog["AF"]))
                _serialised_once(_document, pdf)

            pdf = document.write_pdf(
                pdf_variant=PDF_VARIANT, output_intent=OUTPUT_INTENT, finisher=finish,
                attachments=[_weasy_attachment(a, self._url_fetcher) for a in extras.attachments],
            )  # fmt: skip
            return pdf
