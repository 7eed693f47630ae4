from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.invoice import Invoice, InvoiceLine
from domain.vat import VatCase, VatCategory, VatResolutionError, resolve_vat
from tests.documents.factories import make_invoice


@pytest.mark.parametrize(
    ("seller", "regime", "seller_vat", "buyer", "buyer_vat", "case", "category", "rate", "wording_fr"),
    [
        ("FR", "vat_registered", "FR44732829320", "FR", "FR03552100554", VatCase.DOMESTIC, "S", "20", None),
        ("FR", "franchise_en_base", None, "DE", "DE136695976", VatCase.FRANCHISE, "E", "0",
         "TVA non applicable, art. 293 B du CGI"),
        ("FR", "vat_registered", "FR44732829320", "DE", "DE136695976", VatCase.EU_REVERSE_CHARGE, "AE", "0",
         "Autoliquidation (art. 196 de la directive 2006/112/CE)"),
        ("DE", "vat_registered", "DE136695976", "FR", "FR03552100554", VatCase.EU_REVERSE_CHARGE, "AE", "0",
         "Autoliquidation (art. 196 de la directive 2006/112/CE)"),
        ("FR", "vat_registered", "FR44732829320", "US", None, VatCase.EXPORT_OUTSIDE_EU, "O", "0",
         "TVA non applicable, art. 259-1 du CGI (art. 44 de la directive 2006/112/CE)"),
        ("US", "non_eu", "12-3456789", "FR", "FR03552100554", VatCase.NON_EU_SELLER_REVERSE_CHARGE, "AE", "0",
         "Autoliquidation (art. 196 de la directive 2006/112/CE)"),
        ("DE", "vat_registered", "DE136695976", "DE", "DE811128135", VatCase.DOMESTIC, "S", "19", None),
    ],
)  # fmt: skip
def test_resolves_the_vat_cases_of_money_md(
    seller: str, regime: str, seller_vat: str | None, buyer: str, buyer_vat: str | None,
    case: VatCase, category: str, rate: str, wording_fr: str | None,
) -> None:  # fmt: skip
    treatment = resolve_vat(
        seller_country=seller, seller_regime=regime,  # type: ignore[arg-type]
        seller_vat_number=seller_vat, buyer_country=buyer, buyer_vat_number=buyer_vat,
    )  # fmt: skip
    assert treatment.case is case
    assert treatment.category is VatCategory(category)
    assert treatment.rate == Decimal(rate)
    assert treatment.wording("fr") == wording_fr
    if wording_fr:
        assert treatment.wording("en")
    assert treatment.show_both_vat_numbers == (category == "AE")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seller_country": "FR", "seller_regime": "vat_registered", "seller_vat_number": "FR44732829320",
          "buyer_country": "DE", "buyer_vat_number": None}, "buyer's VAT number"),
        ({"seller_country": "US", "seller_regime": "non_eu", "seller_vat_number": "X",
          "buyer_country": "FR", "buyer_vat_number": None}, "VAT number is required"),
        ({"seller_country": "FR", "seller_regime": "non_eu", "seller_vat_number": None,
          "buyer_country": "FR", "buyer_vat_number": None}, "is in the EU"),
        ({"seller_country": "US", "seller_regime": "vat_registered", "seller_vat_number": "X",
          "buyer_country": "FR", "buyer_vat_number": "FR03552100554"}, "not in the EU"),
    ],
)  # fmt: skip
def test_refuses_a_treatment_the_data_cannot_support(kwargs: dict[str, str | None], message: str) -> None:
    with pytest.raises(VatResolutionError, match=message):
        resolve_vat(**kwargs)  # type: ignore[arg-type]


def test_totals_follow_en16931_rounding() -> None:
    invoice = make_invoice("domestic")
    # 3.5 x 850 = 2975.00 ; 1 x 333.335 = 333.34 (half up) ; 3 x 0.3333 = 0.9999 -> 1.00
    assert [line.net for line in invoice.lines] == [Decimal("2975.00"), Decimal("333.34"), Decimal("1.00")]
    assert invoice.total_net == Decimal("3309.34")
    assert invoice.total_vat == Decimal("661.87")  # 661.868 half up, computed once on the sum of nets
    assert invoice.grand_total == Decimal("3971.21")


def test_vat_is_computed_on_the_sum_of_nets_not_per_line() -> None:
    base = make_invoice("domestic")
    lines = [InvoiceLine(description=f"l{i}", quantity=Decimal(1), unit_price=Decimal("0.02")) for i in range(3)]
    invoice = base.model_copy(update={"lines": lines})
    invoice = Invoice.model_validate(invoice.model_dump())
    assert invoice.total_vat == Decimal("0.01")  # per line it would be 3 x 0.00


def test_credit_note_must_reference_an_invoice() -> None:
    data = make_invoice("domestic").model_dump()
    data.update(kind="credit_note", type_code="381")
    with pytest.raises(ValidationError, match="must reference the invoice it corrects"):
        Invoice.model_validate(data)


def test_one_currency_per_invoice_and_reverse_charge_needs_both_vat_numbers() -> None:
    data = make_invoice("eu_reverse_charge").model_dump()
    data["buyer"]["vat_number"] = None
    with pytest.raises(ValidationError, match=r"the buyer.s VAT number and the seller.s tax identifier"):
        Invoice.model_validate(data)
    data = make_invoice("domestic").model_dump()
    data["currency"] = "XYZ"
    with pytest.raises(ValidationError, match="unsupported currency"):
        Invoice.model_validate(data)
