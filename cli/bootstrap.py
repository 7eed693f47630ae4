"""First-run preparation for the embedded platform: migrations, a demo directory and demo accounts."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, date, datetime

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from sqlalchemy import func, select

from api.security import hash_password
from cli.demo_identities import CLIENT, EXPERT, EXPERT_BE, EXPERT_DE, Identity
from config.settings import VAR, Settings
from store import accounts
from store.db import make_session_factory, shared_engine, transaction
from store.migrate import upgrade
from store.models.community import Expert, Membership, User

DEMO_EXPERTS = 1000


def seed_directory(settings: Settings, console: Console, *, experts: int, seed: int) -> None:
    from store.seed import seed_experts

    factory = make_session_factory(shared_engine(settings.database_url))
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("experts", total=experts)
        seed_experts(factory, experts, seed, progress=lambda done, _total: progress.update(task, completed=done))
    console.print(f"{experts} synthetic experts written (seed {seed})")


def _demo_password() -> str:
    return f"Demo-{secrets.token_urlsafe(9)}-1"


# The demo experts: the one printed as `expert` and two colleagues, so that a demo mission has the three experts a
# need invites by default (Policy.target_accepted). All speak Japanese, which the demo missions require.
DEMO_EXPERT_PROFILES: dict[str, tuple[str, Identity, dict[str, object]]] = {
    "expert": (
        "Jean Démo",
        EXPERT,
        {"address_line": "5 rue des Lilas", "postcode": "33000", "city": "Bordeaux", "timezone": "Europe/Paris"},
    ),
    "expert2": (
        "Aiko Démo",
        EXPERT_BE,
        {"address_line": "8 rue Royale", "postcode": "1000", "city": "Bruxelles", "timezone": "Europe/Brussels"},
    ),
    "expert3": (
        "Lena Demo",
        EXPERT_DE,
        {"address_line": "3 Torstraße", "postcode": "10119", "city": "Berlin", "timezone": "Europe/Berlin"},
    ),
}


def create_demo_accounts(settings: Settings) -> dict[str, tuple[str, str]]:
    """A client organisation member, three experts and an ops account, with fresh random passwords; each party with
    its own legal identity (cli/demo_identities.py)."""
    factory = make_session_factory(shared_engine(settings.database_url))
    roles = ("client", *DEMO_EXPERT_PROFILES, "ops")
    passwords = {role: _demo_password() for role in roles}
    hashes = {role: asyncio.run(hash_password(pw)) for role, pw in passwords.items()}
    with transaction(factory) as session:
        client_user, org = accounts.register_organisation(
            session,
            organisation={
                "legal_name": "Démo Industrie SAS",
                "legal_form": "SAS",
                **CLIENT.organisation_fields(),
                "address_line": "1 place de la Bourse",
                "postcode": "69002",
                "city": "Lyon",
                "billing_email": "compta@demo-client.example",
            },
            user={
                "email": "client@demo.innot.example",
                "full_name": "Claire Démo",
                "password_hash": hashes["client"],
                "language": "fr",
            },
        )
        client_user.email_verified_at = datetime.now(UTC)
        # an established customer whose needs go straight to matching (ops can turn qualification on in the portal)
        org.qualification_required = False
        members = [("client_organisation", org.id, settings.fees.client_organisation)]
        for role, (name, identity, place) in DEMO_EXPERT_PROFILES.items():
            expert_user, expert = accounts.register_expert(
                session,
                profile={
                    "display_name": name,
                    "legal_name": f"{name} Conseil",
                    **identity.expert_fields(),
                    **place,
                    "business_functions": ["finance"],
                    "skills": ["financial_modelling", "management_control", "budgeting_forecasting"],
                    "languages": ["fr", "en", "ja"],
                    "daily_rate": 850,
                    "currency": "EUR",
                    "available_from": date.today(),
                    "vat_regime": "vat_registered",
                },
                user={
                    "email": f"{role}@demo.innot.example",
                    "full_name": name,
                    "password_hash": hashes[role],
                    "language": "fr",
                },
                today=date.today(),
            )
            # The demo members start active (their fee counted as paid) and their addresses verified (the platform
            # made them: no e-mail to follow) so the platform is usable at once.
            expert.membership_active = True
            expert_user.email_verified_at = datetime.now(UTC)
            members.append(("expert", expert.id, settings.fees.expert))
        for community, member_id, fee in members:
            session.add(
                Membership(
                    community=community,
                    member_id=member_id,
                    status="active",
                    fee_schedule_version=settings.fees.version,
                    fee_amount=fee,
                    currency=settings.fees.currency,
                )
            )
        accounts.create_user(
            session, email="ops@demo.innot.example", full_name="Olivia Ops", password_hash=hashes["ops"], role="ops"
        )
    return {role: (f"{role}@demo.innot.example", passwords[role]) for role in roles}


def bootstrap(settings: Settings, console: Console) -> None:
    console.print("Migrating the database...")
    upgrade(settings.database_url)
    if settings.environment != "development":
        return
    factory = make_session_factory(shared_engine(settings.database_url))
    with factory() as session:
        users = session.scalar(select(func.count()).select_from(User)) or 0
        experts = session.scalar(select(func.count()).select_from(Expert)) or 0
    if experts == 0:
        seed_directory(settings, console, experts=DEMO_EXPERTS, seed=42)
    if users == 0:
        demo = create_demo_accounts(settings)
        lines = [f"{role:7s} {email:28s} {password}" for role, (email, password) in demo.items()]
        (VAR / "demo-accounts.txt").write_text("\n".join(lines) + "\n")
        console.print("\n[bold]Demo accounts[/bold] (also in var/demo-accounts.txt):")
        for line in lines:
            console.print("  " + line)
