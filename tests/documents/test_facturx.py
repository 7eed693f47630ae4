"""Every VAT case x language: the Factur-X XML passes the XSD and both schematrons, the PDF carries it intact
and prints every mandatory mention of MONEY.md, with totals that reconcile to the cent."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from lxml import etree

from documents.facturx import NSMAP, build_cii_xml, check_xsd, extract_facturx
from documents.invoices import render_invoice, render_payment_reminder
from documents.rendering import Renderer, money
from documents.schematron import SchematronValidator
from domain.invoice import Invoice
from tests.documents.factories import VAT_CASES, make_invoice

CASES = list(VAT_CASES)
# The French CTC schematron (Flux 2) covers sellers established in France: it demands the seller's SIREN.
# A seller outside France has none; that one rule, and nothing else, is expected to fail for it.
OUT_OF_FRENCH_SCOPE = {"BR-FR-10_BT-30"}


def _assert_schematrons_pass(schematron: SchematronValidator, invoice: Invoice, xml: bytes) -> None:
    failures = schematron.failed_asserts(xml)
    if invoice.seller.address.country != "FR":
        assert {f.rule_id for f in failures if f.schematron == "cii-schematron-fr-ctc"} == OUT_OF_FRENCH_SCOPE
        failures = [f for f in failures if f.rule_id not in OUT_OF_FRENCH_SCOPE]
    assert not failures, "\n".join(str(f) for f in failures)


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("case", CASES)
def test_xml_passes_xsd_and_both_schematrons(schematron: SchematronValidator, case: str, language: str) -> None:
    invoice = make_invoice(case, language)
    xml = build_cii_xml(invoice)
    check_xsd(xml)
    _assert_schematrons_pass(schematron, invoice, xml)
    credit_note = make_invoice(case, language, credit_note_of=invoice)
    credit_xml = build_cii_xml(credit_note)
    check_xsd(credit_xml)
    _assert_schematrons_pass(schematron, credit_note, credit_xml)
    reference = etree.fromstring(credit_xml).find(".//ram:InvoiceReferencedDocument/ram:IssuerAssignedID", NSMAP)
    assert reference is not None and reference.text == invoice.number


def test_the_validators_do_catch_a_wrong_invoice(schematron: SchematronValidator) -> None:
    xml = build_cii_xml(make_invoice("domestic"))
    broken = xml.replace(b"<ram:GrandTotalAmount>3971.21<", b"<ram:GrandTotalAmount>3971.22<")
    assert {f.rule_id for f in schematron.failed_asserts(broken)} >= {"BR-CO-15", "BR-CO-16"}
    with pytest.raises(ValueError, match="XML Schema Definition"):
        check_xsd(xml.replace(b"<ram:TypeCode>380</ram:TypeCode>", b"<ram:Bogus>1</ram:Bogus>"))


def _pdftotext(pdf: bytes, tmp_path: object) -> str:
    executable = shutil.which("pdftotext")
    assert executable, "pdftotext missing: apt-get install poppler-utils (a system dependency of make test)"
    result = subprocess.run([executable, "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return " ".join(result.stdout.decode("utf-8").split())


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("case", CASES)
def test_pdf_embeds_the_xml_and_prints_every_mandatory_mention(
    renderer: Renderer, case: str, language: str, tmp_path: object
) -> None:
    invoice = make_invoice(case, language)
    rendered = render_invoice(renderer, invoice, platform_name="innot SAS")
    assert rendered.pdf.startswith(b"%PDF-")
    assert extract_facturx(rendered.pdf) == rendered.xml
    text = _pdftotext(rendered.pdf, tmp_path)

    seller, buyer = invoice.seller, invoice.buyer
    expected = [invoice.number, seller.name, buyer.name, seller.address.line, buyer.address.line,
                seller.address.city, buyer.address.city, invoice.currency]  # fmt: skip
    expected += [v for v in (seller.siren, seller.siret, seller.legal_form, buyer.siren, seller.vat_number) if v]
    if invoice.vat.show_both_vat_numbers:
        expected += [seller.vat_number or "", buyer.vat_number or ""]
    if invoice.vat.wording(language):
        expected.append(invoice.vat.wording(language) or "")
    expected += [line.description for line in invoice.lines]
    fr = language == "fr"
    expected += [
        f"Facture émise par innot SAS au nom et pour le compte de {seller.name}" if fr
        else f"Invoice issued by innot SAS in the name and on behalf of {seller.name}",
        "prestation de services" if fr else "services",
        "Date d'émission" if fr else "Issue date",
        "Date de la prestation" if fr else "Date of service",
        "Date d'échéance" if fr else "Due date",
        "Pénalités de retard" if fr else "Late payment penalties",
        "40.00 EUR",
        "Pas d'escompte" if fr else "No discount",
        "Total HT" if fr else "Total excl. VAT",
        "Total TTC" if fr else "Total incl. VAT",
    ]  # fmt: skip
    for amount in (
        invoice.total_net,
        invoice.total_vat,
        invoice.grand_total,
        *[li.net for li in invoice.lines],
    ):
        expected.append(money(amount, invoice.currency, language))
    missing = [item for item in expected if " ".join(item.split()) not in text]
    assert not missing, f"missing from the PDF text: {missing}"

    # totals reconcile to the cent, from the printed lines
    assert sum((li.net for li in invoice.lines), Decimal(0)) == invoice.total_net
    assert invoice.total_net + invoice.total_vat == invoice.grand_total
    assert re.search(r"\b1\s*/\s*1\b", text), "page numbering missing"


@pytest.mark.parametrize("language", ["fr", "en"])
def test_payment_reminder_names_the_invoice_and_the_amount_due(
    renderer: Renderer, language: str, tmp_path: object
) -> None:
    invoice = make_invoice("domestic", language)
    text = _pdftotext(render_payment_reminder(renderer, invoice, days_late=12, platform_name="innot SAS"), tmp_path)
    for expected in (invoice.number, money(invoice.grand_total, "EUR", language), "12", "40 EUR"):
        assert " ".join(expected.split()) in text
