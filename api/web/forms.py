"""HTML form fields -> the API's own request models (so the portal validates exactly as the JSON API)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from api.schemas.accounts import ClientRegistration, ExpertRegistration
from api.schemas.missions import NeedSubmission
from domain.terms import MilestonePlan, ProposalTerms


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def optional(form: FormData, name: str) -> str | None:
    return text(form, name) or None


def items(form: FormData, name: str) -> list[str]:
    """A multiple choice (check boxes, `<select multiple>`: one value each), or a comma-separated text."""
    values = [v for v in form.getlist(name) if isinstance(v, str)]
    return [part.strip() for value in values for part in value.replace(";", ",").split(",") if part.strip()]


def checked(form: FormData, name: str) -> bool:
    return text(form, name) in ("on", "true", "1", "yes")


def values(form: FormData) -> dict[str, str | list[str]]:
    """What the user typed or chose, to fill the form again after an error (never the passwords); a name chosen
    several times (check boxes, `<select multiple>`) keeps every value."""
    kept: dict[str, str | list[str]] = {}
    for k, v in form.multi_items():
        if not isinstance(v, str) or "password" in k or k == "csrf_token":
            continue
        previous = kept.get(k)
        kept[k] = v if previous is None else [*([previous] if isinstance(previous, str) else previous), v]
    return kept


def _account(form: FormData) -> dict[str, Any]:
    return {
        "email": text(form, "email"),
        "full_name": text(form, "full_name"),
        "password": text(form, "password"),
        "language": text(form, "language") or "en",
    }


def _address(form: FormData) -> dict[str, Any]:
    return {
        "address_line": text(form, "address_line"),
        "postcode": text(form, "postcode"),
        "city": text(form, "city"),
        "country": text(form, "country").upper(),
    }


def client_registration(form: FormData) -> ClientRegistration:
    organisation = _address(form) | {
        "legal_name": text(form, "legal_name"),
        "legal_form": text(form, "legal_form"),
        "siret": optional(form, "siret"),
        "vat_number": optional(form, "vat_number"),
        "tax_id": optional(form, "tax_id"),
        "billing_email": text(form, "billing_email"),
    }
    return ClientRegistration.model_validate({"account": _account(form), "organisation": organisation})


def expert_registration(form: FormData) -> ExpertRegistration:
    profile = _address(form) | {
        "display_name": text(form, "display_name"),
        "legal_name": text(form, "legal_name"),
        "legal_form": text(form, "legal_form") or "Entrepreneur individuel",
        "headline": text(form, "headline"),
        "business_functions": items(form, "business_functions"),
        "skills": items(form, "skills"),
        "languages": items(form, "languages"),
        "countries": [c.upper() for c in items(form, "countries")],
        "remote": checked(form, "remote"),
        "daily_rate": text(form, "daily_rate"),
        "currency": text(form, "currency") or "EUR",
        "available_from": text(form, "available_from"),
        "available_days_per_week": text(form, "available_days_per_week") or "5",
        "vat_regime": text(form, "vat_regime"),
        "siret": optional(form, "siret"),
        "vat_number": optional(form, "vat_number"),
        "tax_id": optional(form, "tax_id"),
        # the bank details of the expert's country: IBAN (+ BIC) in SEPA, else account number + ABA routing or SWIFT
        "iban": optional(form, "iban"),
        "bic": optional(form, "bic"),
        "account_number": optional(form, "account_number"),
        "aba_routing": optional(form, "aba_routing"),
        "billing_mandate_accepted": checked(form, "billing_mandate_accepted"),
    }
    return ExpertRegistration.model_validate({"account": _account(form), "profile": profile})


def need(form: FormData) -> NeedSubmission:
    return NeedSubmission.model_validate(
        {
            "title": text(form, "title"),
            "description": text(form, "description"),
            "business_function": text(form, "business_function"),
            "skills": items(form, "skills"),
            "languages": items(form, "languages"),
            "countries": [c.upper() for c in items(form, "countries")],
            "remote": checked(form, "remote"),
            "budget_min": text(form, "budget_min"),
            "budget_max": text(form, "budget_max"),
            "currency": text(form, "currency") or "EUR",
            "start_date": text(form, "start_date"),
            "duration_days": text(form, "duration_days"),
            "confidential": checked(form, "confidential"),
            "mission_language": text(form, "mission_language") or "en",
        }
    )


def proposal_terms(form: FormData) -> ProposalTerms:
    """Milestone rows come as parallel lists (`ms_title`, `ms_amount`, `ms_due`); empty rows are skipped."""
    titles, amounts, dues = (form.getlist(n) for n in ("ms_title", "ms_amount", "ms_due"))
    milestones = [
        MilestonePlan.model_validate({"title": str(title).strip(), "amount": str(amount).strip(), "due_date": due})
        for title, amount, due in zip(titles, amounts, dues, strict=False)
        if str(title).strip() or str(amount).strip()
    ]
    pricing = text(form, "pricing") or "fixed"
    return ProposalTerms.model_validate(
        {
            "approach": text(form, "approach"),
            "pricing": pricing,
            "daily_rate": optional(form, "daily_rate") if pricing == "daily" else None,
            "days": optional(form, "days") if pricing == "daily" else None,
            "currency": text(form, "currency") or "EUR",
            "milestones": milestones,
        }
    )
