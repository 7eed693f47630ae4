"""HTML -> PDF/A-3b with one Jinja2 environment, one WeasyPrint FontConfiguration and one parsed stylesheet
per process (build one `Renderer` and share it): each document is laid out exactly once."""

from __future__ import annotations

import threading
from datetime import date, datetime
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


class Renderer:
    def __init__(self, templates_dir: Path = TEMPLATES) -> None:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        self.env = Environment(
            loader=FileSystemLoader(templates_dir),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(money=money, unit_price=unit_price, number=number, long_date=long_date, labels=LABELS)
        self.font_config = FontConfiguration()
        self.stylesheet = CSS(filename=str(templates_dir / "documents.css"), font_config=self.font_config)
        self._srgb = _srgb_profile()
        self._lock = threading.Lock()  # WeasyPrint shares the font configuration; lay out one at a time

    def html(self, template: str, *, language: str, **context: Any) -> str:
        return self.env.get_template(template).render(lang=language, t=LABELS[language], **context)

    def pdf(self, template: str, *, language: str, title: str, **context: Any) -> bytes:
        """Render a template to a PDF/A-3b (the archival format Factur-X requires)."""
        from weasyprint import HTML

        source = self.html(template, language=language, title=title, **context)
        with self._lock:
            document = HTML(string=source, base_url=str(TEMPLATES)).render(
                stylesheets=[self.stylesheet], font_config=self.font_config, pdf_variant=PDF_VARIANT,
                output_intent=OUTPUT_INTENT,
            )  # fmt: skip
            document.color_profiles[OUTPUT_INTENT] = self._srgb
            pdf: bytes = document.write_pdf(pdf_variant=PDF_VARIANT, output_intent=OUTPUT_INTENT)
        return pdf
