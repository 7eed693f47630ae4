"""Every VAT case x language: the Factur-X XML passes the XSD and both schematrons, the PDF carries it intact
and prints every mandatory mention of MONEY.md, with totals that reconcile to the cent."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any, cast

import facturx
import pytest
from lxml import etree
from pypdf import PdfReader

from documents.facturx import NSMAP, build_cii_xml, check_xsd, extract_facturx
from documents.invoices import render_invoice, render_payment_reminder
from documents.rendering import Renderer, money
from documents.schematron import SchematronValidator
from domain.invoice import Invoice
from domain.late_payment import late_charges
from tests.documents.factories import VAT_CASES, make_invoice

CASES = list(VAT_CASES)


def _assert_schematrons_pass(schematron: SchematronValidator, invoice: Invoice, xml: bytes) -> None:
    """EN 16931 always; the French CTC rules exactly when the seller is established in France."""
    report = schematron.validate(xml)
    french = invoice.seller.address.country == "FR"
    assert report.applied == (("EN 16931", "FR-CTC") if french else ("EN 16931",))
    assert not report.failures, "\n".join(str(f) for f in report.failures)


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


@pytest.mark.parametrize("currency", ["USD", "GBP"])
@pytest.mark.parametrize("case", CASES)
def test_an_invoice_in_another_currency_states_its_vat_in_euros(
    schematron: SchematronValidator, renderer: Renderer, case: str, currency: str, tmp_path: object
) -> None:
    invoice = make_invoice(case, "en", currency=currency)
    assert invoice.vat_eur_rate is not None and invoice.total_vat_eur is not None
    xml = build_cii_xml(invoice)
    check_xsd(xml)
    _assert_schematrons_pass(schematron, invoice, xml)
    tree = etree.fromstring(xml)
    assert tree.findtext(".//ram:ApplicableHeaderTradeSettlement/ram:TaxCurrencyCode", namespaces=NSMAP) == "EUR"
    totals = {
        t.get("currencyID"): Decimal(t.text or "")
        for t in tree.findall(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:TaxTotalAmount", NSMAP)
    }
    assert totals == {
        currency: invoice.total_vat,
        "EUR": (invoice.total_vat * invoice.vat_eur_rate).quantize(Decimal("0.01")),
    }
    text = " ".join(_pdftotext(render_invoice(renderer, invoice, platform_name="innot SAS").pdf, tmp_path).split())
    assert "VAT amount in euros" in text and " ".join(money(invoice.total_vat_eur, "EUR", "en").split()) in text
    credit = make_invoice(case, "en", credit_note_of=invoice, currency=currency)
    assert credit.vat_eur_rate == invoice.vat_eur_rate  # a credit note uses the rate of the invoice it cancels


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
def test_payment_reminder_names_the_invoice_the_late_charges_and_the_total_due(
    renderer: Renderer, language: str, tmp_path: object
) -> None:
    invoice = make_invoice("domestic", language)
    on = invoice.due_date + timedelta(days=12)
    text = _pdftotext(render_payment_reminder(renderer, invoice, on=on, platform_name="innot SAS"), tmp_path)
    charges = late_charges(invoice, on)
    interest = (invoice.grand_total * invoice.late_penalty_rate / 100 * 12 / 365).quantize(Decimal("0.01"))
    assert charges.interest == interest > 0 and charges.indemnity == Decimal("40.00")
    assert charges.total_due == invoice.grand_total + interest + Decimal("40.00")
    for expected in (
        invoice.number,
        money(invoice.grand_total, "EUR", language),
        money(interest, "EUR", language),
        money(Decimal("40.00"), "EUR", language),
        money(charges.total_due, "EUR", language),
        "L441-10",
    ):
        assert " ".join(expected.split()) in text, expected
    assert late_charges(invoice, invoice.due_date).total_due == invoice.grand_total, "nothing owed before it is late"


def test_the_pdf_is_a_factur_x_pdf_a_3_written_in_one_pass(renderer: Renderer) -> None:
    """What a Factur-X reader and a PDF/A-3 validator look for: the XML attached once as factur-x.xml with
    AFRelationship Data and MIME type text/xml, listed in the catalog's /AF; the XMP packet declaring PDF/A-3B,
    the Factur-X extension schema and its fx properties; document information equal to the XMP."""
    invoice = make_invoice("domestic", "fr")
    rendered = render_invoice(renderer, invoice, platform_name="innot SAS")
    assert rendered.pdf.count(b"%%EOF") == 1, "the PDF is written once, not rewritten by an incremental update"
    name, xml = facturx.get_xml_from_pdf(rendered.pdf, check_xsd=True)
    assert (name, xml) == ("factur-x.xml", rendered.xml)

    reader = PdfReader(BytesIO(rendered.pdf))
    catalog = cast(Any, reader.trailer["/Root"])
    filespecs = [ref.get_object() for ref in catalog["/AF"]]
    assert len(filespecs) == 1
    spec = filespecs[0]
    assert (spec["/F"], spec["/UF"], spec["/AFRelationship"]) == ("factur-x.xml", "factur-x.xml", "/Data")
    assert spec["/EF"]["/F"].get_object()["/Subtype"] == "/text/xml"
    assert catalog["/Names"]["/EmbeddedFiles"]["/Names"][1].get_object() == spec

    xmp = etree.fromstring(catalog["/Metadata"].get_object().get_data())
    ns = {
        "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
        "pdfaExtension": "http://www.aiim.org/pdfa/ns/extension/",
        "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
        "pdfaProperty": "http://www.aiim.org/pdfa/ns/property#",
        "fx": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
        "dc": "http://purl.org/dc/elements/1.1/",
        "pdf": "http://ns.adobe.com/pdf/1.3/",
    }
    assert len(xmp.findall("rdf:RDF", ns)) == 1
    assert xmp.xpath("string(//rdf:Description/@pdfaid:part)", namespaces=ns) == "3"
    assert xmp.xpath("string(//rdf:Description/@pdfaid:conformance)", namespaces=ns) == "B"
    schema = xmp.find(".//pdfaExtension:schemas/rdf:Bag/rdf:li", ns)
    assert schema is not None
    assert schema.findtext("pdfaSchema:namespaceURI", namespaces=ns) == ns["fx"]
    assert schema.findtext("pdfaSchema:prefix", namespaces=ns) == "fx"
    declared = {li.findtext("pdfaProperty:name", namespaces=ns) for li in schema.iterfind(".//rdf:Seq/rdf:li", ns)}
    assert declared == {"DocumentFileName", "DocumentType", "Version", "ConformanceLevel"}
    values = {tag: xmp.findtext(f".//fx:{tag}", namespaces=ns) for tag in declared}
    assert values == {"DocumentFileName": "factur-x.xml", "DocumentType": "INVOICE", "Version": "1.0",
                      "ConformanceLevel": "EN 16931"}  # fmt: skip

    info = reader.metadata
    assert info is not None
    assert info.title == xmp.findtext(".//dc:title/rdf:Alt/rdf:li", namespaces=ns)
    assert info.author == xmp.findtext(".//dc:creator/rdf:Seq/rdf:li", namespaces=ns) == "innot SAS"
    assert info.subject == xmp.findtext(".//dc:description/rdf:Alt/rdf:li", namespaces=ns)
    assert info.subject is not None and invoice.number in info.subject
    assert str(info["/Keywords"]) == xmp.findtext(".//pdf:Keywords", namespaces=ns) == "Factur-X, Invoice"
