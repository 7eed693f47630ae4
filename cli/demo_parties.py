"""`innot demo`'s parties and content: a client organisation and three experts registered through the API (each
with its own legal identity, cli/demo_identities.py), their fees confirmed by ops, the need and the proposals."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

from cli.demo_http import PASSWORD, Party, _address, _ok, _until, open_account
from cli.demo_identities import DEMO_CLIENT, DEMO_EXPERTS

if TYPE_CHECKING:
    from api.account_mail import Outbox

# A need only the demo experts fit: French and Japanese both required (a hard filter of matching).
LANGUAGES = ["fr", "ja"]
SKILLS = ["financial_modelling", "budgeting_forecasting"]


async def register_parties(api: httpx.AsyncClient, tag: str, outbox: Outbox) -> tuple[Party, list[Party]]:
    """A client and three experts, registered, verified (through the e-mails in `outbox`) and enrolled."""
    client = Party(f"claire.{tag}@demo-client.example")
    registered = await _ok(
        api.post(
            "/auth/register/client",
            json={
                "account": {
                    "email": client.email,
                    "full_name": "Claire Martin",
                    "password": PASSWORD,
                    "language": "fr",
                },
                "organisation": {
                    "legal_name": "Démo Industrie SAS",
                    "legal_form": "SAS",
                    "siret": DEMO_CLIENT.siret,
                    "vat_number": DEMO_CLIENT.vat_number,
                    "billing_email": "compta@demo-client.example",
                    **_address(),
                },
            },
        ),
        201,
    )
    client.member_id = registered["member_id"]
    await open_account(api, client, outbox)
    experts = []
    names = [("Jean Dupont", "900.00"), ("Aiko Bernard", "950.00"), ("Marc Leroy", "1000.00")]
    for n, ((name, rate), identity) in enumerate(zip(names, DEMO_EXPERTS, strict=True)):
        expert = Party(f"expert{n}.{tag}@demo-expert.example")
        registered = await _ok(
            api.post(
                "/auth/register/expert",
                json={
                    "account": {"email": expert.email, "full_name": name, "password": PASSWORD, "language": "fr"},
                    "profile": {
                        "display_name": name,
                        "legal_name": f"{name} Conseil",
                        "business_functions": ["finance"],
                        "skills": SKILLS,
                        "languages": LANGUAGES,
                        "daily_rate": rate,
                        "currency": "EUR",
                        "available_from": date.today().isoformat(),
                        "vat_regime": "vat_registered",
                        "siret": identity.siret,
                        "vat_number": identity.vat_number,
                        "iban": identity.iban,
                        "billing_mandate_accepted": True,
                        **_address(),
                    },
                },
            ),
            201,
        )
        expert.member_id = registered["member_id"]
        await open_account(api, expert, outbox)
        experts.append(expert)
    return client, experts


async def pay_fees(api: httpx.AsyncClient, ops: Party, members: list[Party]) -> None:
    """Ops confirm each member's registration fee once its fee invoice is issued (MembershipWorkflow). The fee is
    invoiced once ops approved the member's onboarding: a member who has not submitted it yet is vetted first
    (cli.onboarding.vet_members), its organisation's needs going straight to matching, as the demo's do."""
    from cli.onboarding import vet_members

    for member in members:
        onboarding = (await api.get("/onboarding/me", headers=member.headers)).json()
        if onboarding.get("status") == "profile":
            await vet_members(api, ops, [member], qualify_needs=False)

        async def invoiced(member: Party = member) -> Any:
            view = (await api.get(f"/memberships/{member.member_id}", headers=ops.headers)).json()
            return view if view.get("invoice") else None

        view = await _until("the fee invoice", invoiced)
        await _ok(
            api.post(
                f"/memberships/{member.member_id}/payments",
                json={"invoice_number": view["invoice"]["number"], "paid_on": date.today().isoformat()},
                headers=ops.headers,
            )
        )
        await _until(
            "the membership to be active",
            lambda member=member: _status_is(api, member, "active"),  # type: ignore[misc]
        )


async def _status_is(api: httpx.AsyncClient, member: Party, status: str) -> bool:
    return bool((await api.get("/memberships/me", headers=member.headers)).json().get("status") == status)


def need() -> dict[str, Any]:
    return {
        "title": "Refonte du budget et du prévisionnel",
        "description": "Nous voulons refondre notre processus budgétaire et notre prévisionnel trimestriel, "
        "avec un modèle financier partagé entre Lyon et notre filiale d'Osaka.",
        "business_function": "finance",
        "skills": SKILLS,
        "languages": LANGUAGES,
        "remote": True,
        "budget_min": "700.00",
        "budget_max": "1100.00",
        "currency": "EUR",
        "start_date": (date.today() + timedelta(days=7)).isoformat(),
        "duration_days": 30,
        "confidential": True,
        "mission_language": "fr",
    }


def proposal(rate: str) -> dict[str, Any]:
    """Ten days at the daily rate, paid in two milestones (four days, then six)."""
    start = date.today() + timedelta(days=7)
    daily = Decimal(rate)
    return {
        "terms": {
            "approach": "Diagnostic du processus budgétaire, puis modèle de prévision partagé et formation.",
            "pricing": "daily",
            "daily_rate": rate,
            "days": "10.0",
            "currency": "EUR",
            "milestones": [
                {
                    "title": "Diagnostic",
                    "description": "Cartographie du processus",
                    "amount": str(daily * 4),
                    "due_date": (start + timedelta(days=10)).isoformat(),
                },
                {
                    "title": "Modèle et formation",
                    "description": "Modèle de prévision et formation",
                    "amount": str(daily * 6),
                    "due_date": (start + timedelta(days=30)).isoformat(),
                },
            ],
        }
    }
