"""The `innot` command: run the platform, operate it, seed it, check its documents."""

from __future__ import annotations

import asyncio
import getpass
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console

from cli.documents import documents_app, ledger_app
from cli.ops import register as register_ops_commands
from config.settings import VAR, get_settings

app = typer.Typer(help="innot: the zero-commission consulting marketplace engine", no_args_is_help=True)
db_app = typer.Typer(help="database schema", no_args_is_help=True)
ops_app = typer.Typer(help="operations: accounts, missions, repairs", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ops_app, name="ops")
app.add_typer(documents_app, name="documents")
app.add_typer(ledger_app, name="ledger")
register_ops_commands(ops_app)
console = Console()


@app.callback()
def _settings_first(ctx: typer.Context) -> None:
    """Every command but `doctor` starts from valid settings: in production, the list of what is still a
    development default is printed and nothing starts."""
    if ctx.invoked_subcommand == "doctor":
        return
    try:
        get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            console.print(f"[red]{error['msg'].removeprefix('Value error, ')}[/red]", highlight=False)
        raise typer.Exit(2) from exc


@app.command()
def doctor() -> None:
    """Check the settings as production requires them (whatever INNOT_ENVIRONMENT says); exit 1 on a problem."""
    from config.doctor import run_checks
    from config.settings import Settings

    configured = os.environ.get("INNOT_ENVIRONMENT", "development")
    checks = run_checks(Settings(environment="development"))  # the checks below, without refusing to load
    console.print(f"environment: {configured}")
    for check in checks:
        mark = "[green]ok[/green]  " if check.ok else "[red]FAIL[/red]"
        console.print(f"{mark} {check.name}: {check.detail}", highlight=False)
    failed = sum(not c.ok for c in checks)
    console.print(f"{len(checks) - failed} ok, {failed} to fix before production")
    if failed and configured == "production":
        raise typer.Exit(1)


def _sigterm_as_interrupt(_signum: int, _frame: object) -> NoReturn:
    raise KeyboardInterrupt


@app.command()
def dev() -> None:
    """Migrate, seed a demo on first run, start Temporal (unless INNOT_TEMPORAL_ADDRESS is set), worker and API."""
    from cli.bootstrap import bootstrap
    from cli.dev import run_dev

    settings = get_settings()
    bootstrap(settings, console)
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    raise typer.Exit(run_dev(settings))


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="'all', 'missions' or 'documents'")] = "all",
) -> None:
    """Run a Temporal worker (graceful shutdown on SIGTERM)."""
    import worker as worker_module

    asyncio.run(worker_module.run(queues=queues))


@app.command()
def api(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Serve the API and the portal with uvicorn."""
    import uvicorn

    from config.observability import configure_logging

    settings = get_settings()
    configure_logging(settings)
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        workers=workers,
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the migrations up to REVISION (default: head)."""
    from store.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url, revision)
    console.print(f"database at revision {revision}")


@ops_app.command("create-user")
def create_ops_user(
    email: Annotated[str, typer.Option(help="e-mail of the ops account")],
    name: Annotated[str, typer.Option(help="full name")],
    password: Annotated[str | None, typer.Option(help="password (prompted when omitted)")] = None,
) -> None:
    """Create a platform staff account. Ops accounts are created here only, never through the API."""
    from pydantic import TypeAdapter, ValidationError

    from api import second_factor
    from api.routers.two_factor import enrol_at_creation
    from api.schemas.accounts import AccountCreate
    from api.security import hash_password
    from store.accounts import DuplicateEmail, create_user
    from store.db import make_session_factory, shared_engine, transaction

    secret = password or getpass.getpass("password: ")
    try:
        account = TypeAdapter(AccountCreate).validate_python({"email": email, "full_name": name, "password": secret})
    except ValidationError as exc:
        console.print(f"[red]{exc.errors()[0]['msg']}[/red]")
        raise typer.Exit(2) from exc
    settings = get_settings()
    factory = make_session_factory(shared_engine(settings.database_url))
    password_hash = asyncio.run(hash_password(account.password.get_secret_value()))
    try:
        with transaction(factory) as session:
            user = create_user(
                session, email=str(account.email), full_name=name, password_hash=password_hash, role="ops"
            )
            session.flush()
            secret, codes = enrol_at_creation(session, settings, user)
    except DuplicateEmail as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"ops account {user.email} created ({user.id})")
    console.print("Its second factor is enrolled now (ops must have one); shown only this once, hand it over safely:")
    typer.echo(f"authenticator key: {secret}")  # plain lines: nothing wrapped or styled in a secret
    typer.echo(f"otpauth URI (scan as a QR code): {second_factor.otpauth_uri(secret, user.email)}")
    typer.echo("recovery codes (each replaces the app for one login):")
    for code in codes:
        typer.echo(f"  {code}")
    console.print("Every login asks for the authenticator's code (or a recovery code).")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="where to write the documents produced")] = VAR / "demo",
) -> None:
    """Run one complete mission (two milestones) through the API and print its timeline; exit 0 when closed."""
    from cli.demo import DemoError, demo_main

    try:
        stage = asyncio.run(demo_main(get_settings(), console, out))
    except DemoError as exc:
        console.print(f"[red]demo failed: {exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"Mission ended in stage [bold]{stage}[/bold]; documents in {out}")
    raise typer.Exit(0 if stage == "closed" else 1)


@ops_app.command("reconcile")
def reconcile() -> None:
    """Start the membership workflow of every pending membership that has none (after a Temporal outage)."""
    from sqlalchemy import select

    from config.temporal import connect
    from store.db import make_session_factory, shared_engine
    from store.models.community import Membership
    from workflows.membership import start_membership

    settings = get_settings()
    factory = make_session_factory(shared_engine(settings.database_url))
    with factory() as session:
        pending = list(
            session.execute(select(Membership.community, Membership.member_id).where(Membership.status == "pending"))
        )

    async def start_all() -> None:
        client = await connect(settings)
        for community, member_id in pending:
            await start_membership(client, settings, community, member_id)

    asyncio.run(start_all())
    console.print(f"{len(pending)} pending memberships have their workflow running")


@app.command()
def seed(
    experts: Annotated[int, typer.Option(help="number of synthetic experts")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="random seed (same seed, same directory)")] = 42,
) -> None:
    """Generate a realistic synthetic international expert directory."""
    from cli.bootstrap import seed_directory

    settings = get_settings()
    seed_directory(settings, console, experts=experts, seed=seed)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


if __name__ == "__main__":
    app()
