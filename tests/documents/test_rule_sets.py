"""Which rule sets apply to an invoice: EN 16931 always, the French CTC rules only for a seller established in
France; `innot documents verify` validates with exactly those and says which and why."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli.documents import documents_app
from config.settings import get_settings
from documents.facturx import build_cii_xml, check_xsd
from documents.invoices import render_invoice
from documents.rendering import Renderer
from documents.schematron import SchematronValidator
from tests.documents.factories import make_invoice

innot = typer.Typer()
innot.add_typer(documents_app, name="documents")  # as cli/main.py mounts it


def test_a_german_sellers_invoice_is_checked_against_en16931_only(schematron: SchematronValidator) -> None:
    xml = build_cii_xml(make_invoice("de_expert_to_fr"))
    check_xsd(xml)
    report = schematron.validate(xml)
    assert report.applied == ("EN 16931",)
    assert not report.failures, "\n".join(map(str, report.failures))
    assert report.summary() == "EN 16931: OK (every invoice); FR-CTC: not applied (seller established in DE)"


def test_a_french_sellers_invoice_still_gets_the_french_rules(schematron: SchematronValidator) -> None:
    xml = build_cii_xml(make_invoice("domestic"))
    assert schematron.validate(xml).applied == ("EN 16931", "FR-CTC")
    # the French rules do run: a French seller without its SIREN breaks BR-FR-10
    without_siren = xml.replace(b'<ram:ID schemeID="0002">732829320</ram:ID>', b"")
    assert without_siren != xml
    assert "BR-FR-10_BT-30" in {f.rule_id for f in schematron.validate(without_siren).failures}


@pytest.mark.parametrize(("case", "expected"), [
    ("de_expert_to_fr", "EN 16931: OK (every invoice); FR-CTC: not applied (seller established in DE)"),
    ("domestic", "EN 16931: OK (every invoice); FR-CTC: OK (seller established in FR)"),
])  # fmt: skip
def test_verify_says_which_rule_sets_it_applied(
    renderer: Renderer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, expected: str
) -> None:
    monkeypatch.setenv("INNOT_KEYS_DIR", str(tmp_path / "keys"))
    get_settings.cache_clear()
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(render_invoice(renderer, make_invoice(case), platform_name="innot SAS").pdf)
    try:
        result = CliRunner().invoke(innot, ["documents", "verify", "--offline", str(pdf)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert f"rule sets: {expected}" in " ".join(result.output.split())
    assert "INVALID" not in result.output
