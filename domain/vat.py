"""VAT treatment of a B2B service invoice: EN 16931 category, rate and legal wording (MONEY.md).

Pure: no I/O. The seller is the expert for mission invoices and the platform for fee invoices; every
buyer is a business (the platform only serves organisations). Where the rules are unclear we refuse
rather than guess: a reverse charge without both VAT numbers raises `VatResolutionError`, and `invoiceable` says
so before a contract binds parties whose invoices could not be issued.

Regime "franchise_en_base" is the small-business exemption of the seller's member state: the French art. 293 B
du CGI, or elsewhere in the EU the national scheme of Directive 2020/285 (art. 284 of Directive 2006/112/EC), e.g.
the Belgian "régime particulier de franchise des petites entreprises". It exempts the seller's domestic supplies;
a B2B service to another member state is supplied where the buyer is (art. 44) and the buyer self-accounts
(art. 196): reverse charge, which needs the seller's VAT number.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

SellerRegime = Literal["vat_registered", "franchise_en_base", "non_eu"]

# Standard VAT rates of the EU member states (percent), for a seller charging its own country's VAT.
EU_STANDARD_RATES: dict[str, Decimal] = {
    "AT": Decimal("20"), "BE": Decimal("21"), "BG": Decimal("20"), "CY": Decimal("19"), "CZ": Decimal("21"),
    "DE": Decimal("19"), "DK": Decimal("25"), "EE": Decimal("24"), "ES": Decimal("21"), "FI": Decimal("25.5"),
    "FR": Decimal("20"), "GR": Decimal("24"), "HR": Decimal("25"), "HU": Decimal("27"), "IE": Decimal("23"),
    "IT": Decimal("22"), "LT": Decimal("21"), "LU": Decimal("17"), "LV": Decimal("21"), "MT": Decimal("18"),
    "NL": Decimal("21"), "PL": Decimal("23"), "PT": Decimal("23"), "RO": Decimal("21"), "SE": Decimal("25"),
    "SI": Decimal("22"), "SK": Decimal("23"),
}  # fmt: skip
EU_COUNTRIES = frozenset(EU_STANDARD_RATES)


class VatCategory(StrEnum):
    """UNTDID 5305 codes used by EN 16931."""

    STANDARD = "S"
    EXEMPT = "E"
    REVERSE_CHARGE = "AE"
    NOT_SUBJECT = "O"


class VatCase(StrEnum):
    DOMESTIC = "domestic"
    FRANCHISE = "franchise_en_base"
    EU_SME_SCHEME = "eu_sme_scheme"
    EU_REVERSE_CHARGE = "eu_reverse_charge"
    EXPORT_OUTSIDE_EU = "export_outside_eu"
    NON_EU_SELLER_REVERSE_CHARGE = "non_eu_seller_reverse_charge"
    OUTSIDE_EU_SCOPE = "outside_eu_scope"


class VatResolutionError(ValueError):
    """The parties' data does not allow a lawful VAT treatment (e.g. reverse charge without VAT numbers)."""


class VatTreatment(BaseModel):
    model_config = ConfigDict(frozen=True)

    case: VatCase
    category: VatCategory
    rate: Decimal
    exemption_reason_code: str | None = None  # BT-121 (VATEX list)
    wording_fr: str | None = None  # BT-120 and the printed mention
    wording_en: str | None = None
    show_both_vat_numbers: bool = False

    def wording(self, language: str) -> str | None:
        return self.wording_fr if language == "fr" else self.wording_en


FRANCHISE_FR = "TVA non applicable, art. 293 B du CGI"
FRANCHISE_EN = "VAT not applicable, art. 293 B of the French General Tax Code (CGI)"
REVERSE_CHARGE_FR = "Autoliquidation (art. 196 de la directive 2006/112/CE)"
REVERSE_CHARGE_EN = "Autoliquidation - reverse charge (art. 196 of Council Directive 2006/112/EC)"
EXPORT_FR = "TVA non applicable, art. 259-1 du CGI (art. 44 de la directive 2006/112/CE)"
EXPORT_EN = "VAT not applicable, art. 259-1 of the French General Tax Code (art. 44 of Directive 2006/112/EC)"
EXPORT_EU_FR = "TVA non applicable, lieu de la prestation hors de l'UE (art. 44 de la directive 2006/112/CE)"
EXPORT_EU_EN = "VAT not applicable, place of supply outside the EU (art. 44 of Directive 2006/112/EC)"
# The mention each member state's small-business scheme requires on the invoice (fr, en); others: the directive's.
SME_WORDING: dict[str, tuple[str, str]] = {
    "BE": ("Régime particulier de franchise des petites entreprises (art. 56bis du Code de la TVA)",
           "Special small-business exemption scheme - Régime particulier de franchise des petites entreprises "
           "(art. 56bis of the Belgian VAT Code)"),
    "DE": ("Exonération de TVA, régime des petites entreprises (Kleinunternehmer, § 19 UStG)",
           "No VAT charged: small-business scheme (Kleinunternehmer, section 19 UStG)"),
    "LU": ("Régime de franchise des petites entreprises (art. 57 de la loi TVA)",
           "Small-business exemption scheme (art. 57 of the Luxembourg VAT law)"),
}  # fmt: skip
SME_DEFAULT = (
    "Exonération de TVA, régime de franchise des petites entreprises (art. 284 de la directive 2006/112/CE)",
    "VAT exempt, small-business scheme (art. 284 of Council Directive 2006/112/EC)",
)
OUT_OF_SCOPE_FR = "Hors du champ d'application de la TVA de l'Union européenne"
OUT_OF_SCOPE_EN = "Outside the scope of European Union VAT"


def resolve_vat(
    *,
    seller_country: str,
    seller_regime: SellerRegime,
    seller_vat_number: str | None,
    buyer_country: str,
    buyer_vat_number: str | None,
    seller_tax_id: str | None = None,
) -> VatTreatment:
    """The VAT treatment of a B2B supply of services (general rule: place of supply = buyer's country).
    `seller_tax_id` is a tax registration that is no VAT number (e.g. a US EIN)."""
    seller_country, buyer_country = seller_country.upper(), buyer_country.upper()
    if seller_regime == "franchise_en_base" and seller_country != "FR":
        return _eu_sme_scheme(seller_country, seller_vat_number, buyer_country, buyer_vat_number)
    if seller_regime == "franchise_en_base":
        return VatTreatment(
            case=VatCase.FRANCHISE,
            category=VatCategory.EXEMPT,
            rate=Decimal("0"),
            exemption_reason_code="VATEX-FR-FRANCHISE",
            wording_fr=FRANCHISE_FR,
            wording_en=FRANCHISE_EN,
        )
    seller_in_eu = seller_regime == "vat_registered" and seller_country in EU_COUNTRIES
    if seller_regime == "vat_registered" and not seller_in_eu:
        raise VatResolutionError(f"seller country {seller_country} is not in the EU: use the regime 'non_eu'")
    if seller_regime == "non_eu" and seller_country in EU_COUNTRIES:
        raise VatResolutionError(f"seller country {seller_country} is in the EU: regime 'non_eu' is wrong")
    buyer_in_eu = buyer_country in EU_COUNTRIES

    if seller_in_eu:
        if not seller_vat_number:
            raise VatResolutionError("a VAT-registered seller must have a VAT number")
        if buyer_country == seller_country:
            return VatTreatment(case=VatCase.DOMESTIC, category=VatCategory.STANDARD,
                                rate=EU_STANDARD_RATES[seller_country])  # fmt: skip
        if buyer_in_eu:
            if not buyer_vat_number:
                raise VatResolutionError("reverse charge within the EU needs the buyer's VAT number")
            return _reverse_charge(VatCase.EU_REVERSE_CHARGE)
        return _export(seller_country)
    # seller established outside the EU
    if buyer_in_eu:
        if not buyer_vat_number:
            raise VatResolutionError(
                "the EU buyer self-assesses the VAT: its VAT number is required "
                "(the client adds it to its organisation)"
            )
        if not (seller_vat_number or seller_tax_id):
            raise VatResolutionError(
                "a reverse-charge invoice needs the seller's tax identifier: the expert adds one to their profile "
                "(VAT number, or e.g. a US EIN or Canadian BN)"
            )
        return _reverse_charge(VatCase.NON_EU_SELLER_REVERSE_CHARGE)
    return VatTreatment(
        case=VatCase.OUTSIDE_EU_SCOPE,
        category=VatCategory.NOT_SUBJECT,
        rate=Decimal("0"),
        exemption_reason_code="VATEX-EU-O",
        wording_fr=OUT_OF_SCOPE_FR,
        wording_en=OUT_OF_SCOPE_EN,
    )


def _export(seller_country: str) -> VatTreatment:
    french = seller_country == "FR"
    return VatTreatment(
        case=VatCase.EXPORT_OUTSIDE_EU,
        category=VatCategory.NOT_SUBJECT,
        rate=Decimal("0"),
        exemption_reason_code="VATEX-EU-O",
        wording_fr=EXPORT_FR if french else EXPORT_EU_FR,
        wording_en=EXPORT_EN if french else EXPORT_EU_EN,
    )


def _eu_sme_scheme(
    seller_country: str, seller_vat_number: str | None, buyer_country: str, buyer_vat_number: str | None
) -> VatTreatment:
    if seller_country not in EU_COUNTRIES:
        raise VatResolutionError(
            f"the small-business scheme is for sellers established in the EU, not {seller_country}"
        )
    if buyer_country == seller_country:
        # Category E with the national mention as BT-120 (there is no EU-wide VATEX code for the SME scheme).
        wording_fr, wording_en = SME_WORDING.get(seller_country, SME_DEFAULT)
        if not seller_vat_number:
            raise VatResolutionError("a small business's invoice needs its VAT or enterprise number")
        return VatTreatment(case=VatCase.EU_SME_SCHEME, category=VatCategory.EXEMPT, rate=Decimal("0"),
                            wording_fr=wording_fr, wording_en=wording_en)  # fmt: skip
    if buyer_country in EU_COUNTRIES:
        if not seller_vat_number:
            raise VatResolutionError(
                "a small business invoicing a business in another member state needs a VAT number "
                "(the buyer self-accounts for the VAT): add it to the expert's profile"
            )
        if not buyer_vat_number:
            raise VatResolutionError("reverse charge within the EU needs the buyer's VAT number")
        return _reverse_charge(VatCase.EU_REVERSE_CHARGE)
    return _export(seller_country)


class TaxParty(BaseModel):
    """What the VAT treatment needs of a party: where it is established and its tax identifiers."""

    model_config = ConfigDict(frozen=True)

    country: str
    regime: SellerRegime = "vat_registered"  # a buyer's regime is never read
    vat_number: str | None = None
    tax_id: str | None = None


def vat_between(seller: TaxParty, buyer: TaxParty) -> VatTreatment:
    """The VAT treatment of the seller's invoices to the buyer (`VatResolutionError` where none is lawful): what
    every invoice is issued with, and what `invoiceable` checks before a contract."""
    return resolve_vat(seller_country=seller.country, seller_regime=seller.regime, seller_vat_number=seller.vat_number,
                       seller_tax_id=seller.tax_id, buyer_country=buyer.country,
                       buyer_vat_number=buyer.vat_number)  # fmt: skip


def invoiceable(seller: TaxParty, buyer: TaxParty) -> str | None:
    """None when the seller's invoices to the buyer can lawfully be issued, else the reason, worded so that the
    parties know what to add (checked before a contract binds them, so that no milestone is ever stuck)."""
    try:
        vat_between(seller, buyer)
    except VatResolutionError as error:
        return f"the expert's invoices to this client cannot be issued: {error}"
    return None


def _reverse_charge(case: VatCase) -> VatTreatment:
    return VatTreatment(
        case=case,
        category=VatCategory.REVERSE_CHARGE,
        rate=Decimal("0"),
        exemption_reason_code="VATEX-EU-AE",
        wording_fr=REVERSE_CHARGE_FR,
        wording_en=REVERSE_CHARGE_EN,
        show_both_vat_numbers=True,
    )
