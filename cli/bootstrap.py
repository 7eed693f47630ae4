"""First-run preparation for the embedded platform: migrations, a demo directory and demo accounts."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, date, datetime

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from sqlalchemy import func, select

from api.security import hash_password
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


def create_demo_accounts(settings: Settings) -> dict[str, tuple[str, str]]:
    """A client organisation member, an expert and an ops account, with fresh random passwords."""
    factory = make_session_factory(shared_engine(settings.database_url))
    created: dict[str, tuple[str, str]] = {}
    passwords = {role: _demo_password() for role in ("client", "expert", "ops")}
    hashes = {role: asyncio.run(hash_password(pw)) for role, pw in passwords.items()}
    with transaction(factory) as session:
        client_user, org = accounts.register_organisation(
            session,
            organisation={
                "legal_name": "Démo Industrie SAS",
                "legal_form": "SAS",
                "country": "FR",
                "siren": "732829320",
                "siret": "73282932000074",
                "vat_number": "FR44732829320",
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
        expert_user, expert = accounts.register_expert(
            session,
            profile={
                "display_name": "Jean Démo",
                "legal_name": "Jean Démo EI",
                "country": "FR",
                "address_line": "5 rue des Lilas",
                "postcode": "33000",
                "city": "Bordeaux",
                "business_functions": ["finance"],
                "skills": ["financial_modelling", "management_control"],
                "languages": ["fr", "en"],
                "daily_rate": 850,
                "currency": "EUR",
                "available_from": date.today(),
                "vat_regime": "franchise_en_base",
                "siret": "73282932000074",
                "iban": "FR1420041010050500013M02606",
            },
            user={
                "email": "expert@demo.innot.example",
                "full_name": "Jean Démo",
                "password_hash": hashes["expert"],
                "language": "fr",
            },
            today=date.today(),
        )
        # The demo members start active (their fee counted as paid) and their addresses verified (the platform made
        # them: no e-mail to follow) so the platform is usable at once.
        expert.membership_active = True
        client_user.email_verified_at = expert_user.email_verified_at = datetime.now(UTC)
        for community, member_id, fee in (
            ("client_organisation", org.id, settings.fees.client_organisation),
            ("expert", expert.id, settings.fees.expert),
        ):
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
    for role in passwords:
        created[role] = (f"{role}@demo.innot.example", passwords[role])
    return created


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
