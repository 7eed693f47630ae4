"""The invoice as a pure model: parties, lines, VAT breakdown and totals with EN 16931 rounding.

Line net = quantity x unit price rounded to 2 decimals; VAT per (category, rate) on the sum of the line nets,
ROUND_HALF_UP; grand total = nets + VAT. One currency per invoice. Type 380 = commercial invoice, 381 = credit
note (it must name the invoice it corrects). Amounts of a credit note are positive, as EN 16931 wants.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.money import Currency, round_money
from domain.vat import SellerRegime, TaxParty, VatCategory, VatTreatment

TypeCode = Literal["380", "381"]
InvoiceKind = Literal["mission_invoice", "fee_invoice", "credit_note"]


class Address(BaseModel):
    model_config = ConfigDict(frozen=True)

    line: str
    postcode: str
    city: str
    country: str = Field(min_length=2, max_length=2)


class Party(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    legal_form: str | None = None
    address: Address
    siren: str | None = Field(default=None, pattern=r"^\d{9}$")
    siret: str | None = Field(default=None, pattern=r"^\d{14}$")
    vat_number: str | None = None
    tax_id: str | None = Field(default=None, description="a tax registration that is no VAT number (BT-32), e.g. EIN")
    electronic_address: str = Field(description="e-mail (scheme EM); BT-34 / BT-49")
    # Bank details in the payee's country's scheme: IBAN (+ BIC) in SEPA; elsewhere account number + BIC/SWIFT,
    # or + ABA routing number in the US.
    iban: str | None = None
    bic: str | None = None
    account_number: str | None = None
    aba_routing: str | None = None

    def tax_party(self, regime: SellerRegime = "vat_registered") -> TaxParty:
        """What the VAT treatment needs of this party; `regime` is the seller's (a buyer's is never read)."""
        return TaxParty(country=self.address.country, regime=regime, vat_number=self.vat_number, tax_id=self.tax_id)


class InvoiceLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    description: str = Field(min_length=1, max_length=1000)
    quantity: Decimal = Field(gt=0, max_digits=12, decimal_places=4)
    unit_code: str = "C62"  # UN/ECE rec 20: "one"; "DAY" for days
    unit_price: Decimal = Field(ge=0, max_digits=16, decimal_places=4, description="excluding tax")

    @property
    def net(self) -> Decimal:
        return round_money(self.quantity * self.unit_price)


class VatBreakdown(BaseModel):
    model_config = ConfigDict(frozen=True)

    category: VatCategory
    rate: Decimal
    basis: Decimal
    amount: Decimal


class PrecedingInvoice(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: str
    issue_date: date


class Invoice(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: InvoiceKind
    number: str = Field(pattern=r"^[A-Za-z0-9+\-_/]{1,35}$")
    type_code: TypeCode = "380"
    issue_date: date
    service_date: date
    due_date: date
    currency: Currency = "EUR"
    language: Literal["fr", "en"] = "fr"
    seller: Party
    buyer: Party
    lines: list[InvoiceLine] = Field(min_length=1)
    vat: VatTreatment
    preceding_invoice: PrecedingInvoice | None = None
    issued_on_behalf_by: str | None = Field(default=None, description="platform name under a billing mandate")
    contract_reference: str | None = None
    vat_eur_rate: Decimal | None = Field(
        default=None,
        gt=0,
        description="EUR for one unit of the invoice currency, from the rates table of vat_eur_rate_date: an invoice "
        "in another currency states its VAT in EUR (CGI art. 242 nonies A; EN 16931 BT-6 and BT-111)",
    )
    vat_eur_rate_date: date | None = None
    late_penalty_rate: Decimal = Decimal("10.00")  # percent a year; >= 3x the legal interest rate
    recovery_indemnity: Decimal = Decimal("40.00")  # EUR, Code de commerce L441-10

    @model_validator(mode="after")
    def _consistent(self) -> Invoice:
        if self.type_code == "381" and self.preceding_invoice is None:
            raise ValueError("a credit note must reference the invoice it corrects")
        if self.type_code == "380" and self.kind == "credit_note":
            raise ValueError("a credit note has type code 381")
        if self.due_date < self.issue_date:
            raise ValueError("the due date cannot precede the issue date")
        if self.currency != "EUR" and (self.vat_eur_rate is None or self.vat_eur_rate_date is None):
            raise ValueError("an invoice in another currency than EUR needs vat_eur_rate and its date (VAT in EUR)")
        if self.currency == "EUR" and self.vat_eur_rate is not None:
            raise ValueError("vat_eur_rate is for invoices in another currency than EUR")
        if self.vat.show_both_vat_numbers and not (
            (self.seller.vat_number or self.seller.tax_id) and self.buyer.vat_number
        ):
            raise ValueError(
                "a reverse-charge invoice must carry the buyer's VAT number and the seller's tax identifier"
            )
        return self

    @cached_property
    def total_net(self) -> Decimal:
        return sum((line.net for line in self.lines), Decimal("0.00"))

    @cached_property
    def vat_breakdown(self) -> list[VatBreakdown]:
        # Every line of an invoice shares the invoice's VAT treatment (one supply, one place of supply).
        basis = self.total_net
        amount = round_money(basis * self.vat.rate / Decimal(100))
        return [VatBreakdown(category=self.vat.category, rate=self.vat.rate, basis=basis, amount=amount)]

    @cached_property
    def total_vat(self) -> Decimal:
        return sum((b.amount for b in self.vat_breakdown), Decimal("0.00"))

    @cached_property
    def total_vat_eur(self) -> Decimal | None:
        """The VAT total in EUR (BT-111) for an invoice in another currency; None for an invoice in EUR."""
        if self.vat_eur_rate is None:
            return None
        return round_money(self.total_vat * self.vat_eur_rate)

    @cached_property
    def grand_total(self) -> Decimal:
        return self.total_net + self.total_vat

    @property
    def mandate_wording_fr(self) -> str | None:
        if not self.issued_on_behalf_by:
            return None
        return f"Facture émise par {self.issued_on_behalf_by} au nom et pour le compte de {self.seller.name}"

    @property
    def mandate_wording_en(self) -> str | None:
        if not self.issued_on_behalf_by:
            return None
        return f"Invoice issued by {self.issued_on_behalf_by} in the name and on behalf of {self.seller.name}"
