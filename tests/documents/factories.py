"""Parties and invoices for the five VAT cases of MONEY.md (SIREN and VAT numbers with valid check digits)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.fx import eur_rate_for_vat
from domain.invoice import Address, Invoice, InvoiceLine, Party, PrecedingInvoice
from domain.vat import SellerRegime, resolve_vat

FR_EXPERT = Party(
    name="Marie Dupont Conseil",
    legal_form="EI",
    address=Address(line="12 quai Saint-Antoine", postcode="69002", city="Lyon", country="FR"),
    siren="732829320",
    siret="73282932000074",
    vat_number="FR44732829320",
    electronic_address="marie@dupont-conseil.fr",
    iban="FR7630006000011234567890189",
)
FR_MICRO = Party(
    name="Jean Martin",
    legal_form="Entrepreneur individuel (micro-entreprise)",
    address=Address(line="3 rue des Lilas", postcode="33000", city="Bordeaux", country="FR"),
    siren="542051180",
    siret="54205118000066",
    electronic_address="jean@martin.fr",
)
US_EXPERT = Party(
    name="Ann Smith Advisory LLC",
    legal_form="LLC",
    address=Address(line="500 Market St", postcode="94105", city="San Francisco", country="US"),
    tax_id="12-3456789",
    account_number="000123456789",
    aba_routing="021000021",
    electronic_address="ann@smith-advisory.com",
)
DE_EXPERT = Party(
    name="Klaus Weber Beratung",
    legal_form="Einzelunternehmen",
    address=Address(line="Schillerstraße 5", postcode="80336", city="München", country="DE"),
    vat_number="DE811000004",
    electronic_address="klaus@weber-beratung.de",
    iban="DE89370400440532013000",
)
BE_SME_EXPERT = Party(
    name="Sophie Lambert Consultance",
    legal_form="Entreprise individuelle",
    address=Address(line="Rue Neuve 20", postcode="1000", city="Bruxelles", country="BE"),
    vat_number="BE0400000086",
    electronic_address="sophie@lambert-consultance.be",
    iban="BE71096123456769",
    bic="GKCCBEBB",
)
CH_CLIENT = Party(
    name="Helvetia Maschinen AG",
    legal_form="AG",
    address=Address(line="Bahnhofstrasse 1", postcode="8001", city="Zürich", country="CH"),
    vat_number="CHE100000006MWST",
    electronic_address="kreditoren@helvetia-maschinen.ch",
)
FR_CLIENT = Party(
    name="Acme Industries SA",
    legal_form="SA",
    address=Address(line="25 avenue de l'Opéra", postcode="75001", city="Paris", country="FR"),
    siren="552100554",
    siret="55210055400013",
    vat_number="FR03552100554",
    electronic_address="ap@acme.fr",
)
DE_CLIENT = Party(
    name="Beispiel GmbH",
    legal_form="GmbH",
    address=Address(line="Friedrichstraße 10", postcode="10117", city="Berlin", country="DE"),
    vat_number="DE136695976",
    electronic_address="rechnung@beispiel.de",
)
US_CLIENT = Party(
    name="Globex Corp.",
    legal_form="Inc.",
    address=Address(line="1 Globex Way", postcode="10001", city="New York", country="US"),
    electronic_address="ap@globex.com",
)

# case -> (seller, regime, buyer)
VAT_CASES: dict[str, tuple[Party, SellerRegime, Party]] = {
    "domestic": (FR_EXPERT, "vat_registered", FR_CLIENT),
    "franchise_en_base": (FR_MICRO, "franchise_en_base", FR_CLIENT),
    "eu_reverse_charge": (FR_EXPERT, "vat_registered", DE_CLIENT),
    "export_outside_eu": (FR_EXPERT, "vat_registered", US_CLIENT),
    "non_eu_seller_reverse_charge": (US_EXPERT, "non_eu", FR_CLIENT),
    "de_expert_to_fr": (DE_EXPERT, "vat_registered", FR_CLIENT),
    "be_sme_to_fr": (BE_SME_EXPERT, "franchise_en_base", FR_CLIENT),
    "fr_expert_to_ch": (FR_EXPERT, "vat_registered", CH_CLIENT),
}


def make_invoice(
    case: str, language: str = "fr", *, credit_note_of: Invoice | None = None, currency: str = "EUR"
) -> Invoice:
    seller, regime, buyer = VAT_CASES[case]
    vat = resolve_vat(
        seller_country=seller.address.country,
        seller_regime=regime,
        seller_vat_number=seller.vat_number,
        seller_tax_id=seller.tax_id,
        buyer_country=buyer.address.country,
        buyer_vat_number=buyer.vat_number,
    )
    lines = [
        InvoiceLine(
            description="Jalon 1 : diagnostic financier",
            quantity=Decimal("3.5"),
            unit_code="DAY",
            unit_price=Decimal("850.00"),
        ),
        InvoiceLine(description="Atelier de restitution", quantity=Decimal("1"), unit_price=Decimal("333.335")),
        InvoiceLine(description="Frais de dossier", quantity=Decimal("3"), unit_price=Decimal("0.3333")),
    ]
    eur_rate, eur_rate_date = eur_rate_for_vat(currency)
    return Invoice(
        currency=currency,
        vat_eur_rate=eur_rate,
        vat_eur_rate_date=eur_rate_date,
        kind="credit_note" if credit_note_of else "mission_invoice",
        type_code="381" if credit_note_of else "380",
        number=f"AV-{case[:6].upper()}-2026-000001" if credit_note_of else f"FA-{case[:6].upper()}-2026-000001",
        issue_date=date(2026, 9, 15),
        service_date=date(2026, 9, 12),
        due_date=date(2026, 10, 15),
        language="fr" if language == "fr" else "en",
        seller=seller,
        buyer=buyer,
        lines=lines,
        vat=vat,
        issued_on_behalf_by="innot SAS",
        contract_reference="CT-2026-000042",
        preceding_invoice=PrecedingInvoice(number=credit_note_of.number, issue_date=credit_note_of.issue_date)
        if credit_note_of
        else None,
    )
