"""The six cross-border cases of issue 15 at the domain + documents level: each invoice passes the XSD and the
rule sets that apply to it (EN 16931, plus FR-CTC for a French seller, run offline with saxonche) and states the
VAT category, exemption code and mention its case requires; the seller is paid in its country's bank scheme."""

from __future__ import annotations

import pytest
from lxml import etree

from documents.facturx import NSMAP, build_cii_xml, check_xsd
from documents.schematron import SchematronValidator
from domain.invoice import Address, Invoice, Party
from domain.vat import resolve_vat
from tests.documents.factories import make_invoice

# case, currency -> category, VATEX code, words of the mention (fr), payment means type code
CASES = [
    ("domestic", "EUR", "S", None, None, "58"),
    ("franchise_en_base", "EUR", "E", "VATEX-FR-FRANCHISE", "art. 293 B du CGI", None),
    ("de_expert_to_fr", "EUR", "AE", "VATEX-EU-AE", "Autoliquidation", "58"),
    ("be_sme_to_fr", "EUR", "AE", "VATEX-EU-AE", "Autoliquidation", "58"),
    ("fr_expert_to_ch", "CHF", "O", "VATEX-EU-O", "art. 259-1 du CGI", "58"),
    ("non_eu_seller_reverse_charge", "USD", "AE", "VATEX-EU-AE", "Autoliquidation", "30"),
]


def _text(tree: etree._Element, path: str) -> str | None:
    return tree.findtext(path, namespaces=NSMAP)


@pytest.mark.parametrize(("case", "currency", "category", "code", "mention", "means"), CASES)
def test_each_international_invoice_passes_its_rule_sets_and_states_its_vat(
    schematron: SchematronValidator,
    case: str,
    currency: str,
    category: str,
    code: str | None,
    mention: str | None,
    means: str | None,
) -> None:
    invoice: Invoice = make_invoice(case, "fr", currency=currency)
    xml = build_cii_xml(invoice)
    check_xsd(xml)
    report = schematron.validate(xml)
    french = invoice.seller.address.country == "FR"
    assert report.applied == (("EN 16931", "FR-CTC") if french else ("EN 16931",))
    assert not report.failures, "\n".join(map(str, report.failures))
    tree = etree.fromstring(xml)
    tax = ".//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/"
    assert _text(tree, tax + "ram:CategoryCode") == category
    assert _text(tree, tax + "ram:ExemptionReasonCode") == code
    assert _text(tree, ".//ram:InvoiceCurrencyCode") == currency
    if mention:
        assert mention in (_text(tree, tax + "ram:ExemptionReason") or "")
        notes = [n.findtext("ram:Content", namespaces=NSMAP) for n in tree.iterfind(".//ram:IncludedNote", NSMAP)]
        assert any(mention in (n or "") for n in notes)
    assert _text(tree, ".//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == means


def test_a_us_seller_is_identified_by_its_ein_and_paid_by_aba_transfer() -> None:
    tree = etree.fromstring(build_cii_xml(make_invoice("non_eu_seller_reverse_charge", "en", currency="USD")))
    seller = tree.find(".//ram:SellerTradeParty", NSMAP)
    assert seller is not None
    assert seller.findtext("ram:SpecifiedTaxRegistration/ram:ID", namespaces=NSMAP) == "12-3456789"
    assert seller.find("ram:SpecifiedTaxRegistration/ram:ID", NSMAP).get("schemeID") == "FC"  # type: ignore[union-attr]
    means = tree.find(".//ram:SpecifiedTradeSettlementPaymentMeans", NSMAP)
    assert means is not None
    assert means.findtext("ram:Information", namespaces=NSMAP) == "ABA routing number 021000021"
    assert means.findtext("ram:PayeePartyCreditorFinancialAccount/ram:ProprietaryID", namespaces=NSMAP) == (
        "000123456789"
    )


def test_a_belgian_small_business_invoicing_at_home_states_its_scheme(schematron: SchematronValidator) -> None:
    invoice = make_invoice("be_sme_to_fr")
    buyer = Party(name="Brusselse Bouw NV", address=Address(line="Wetstraat 1", postcode="1040", city="Brussel",
                  country="BE"), vat_number="BE0400000185", electronic_address="factuur@bouw.be")  # fmt: skip
    vat = resolve_vat(seller_country="BE", seller_regime="franchise_en_base", seller_vat_number="BE0400000086",
                      buyer_country="BE", buyer_vat_number=buyer.vat_number)  # fmt: skip
    domestic = Invoice.model_validate(invoice.model_dump() | {"buyer": buyer.model_dump(), "vat": vat.model_dump()})
    xml = build_cii_xml(domestic)
    check_xsd(xml)
    report = schematron.validate(xml)
    assert not report.failures, "\n".join(map(str, report.failures))
    tree = etree.fromstring(xml)
    tax = ".//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/"
    assert _text(tree, tax + "ram:CategoryCode") == "E"
    assert _text(tree, tax + "ram:ExemptionReason") == (
        "Régime particulier de franchise des petites entreprises (art. 56bis du Code de la TVA)"
    )
