"""The real platform as separate processes, for fault injection: a Temporal dev server on a SQLite file and
worker processes (``python -m cli.main worker``), each of which can be killed and restarted; the API app runs
in the caller's process (through httpx), on the same database, Temporal server, document store and keys."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cli.dev import temporal_binary
from config.settings import ROOT, Settings
from workflows.search_attributes import cli_flags


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


class Child:
    """One child process in its own session (so a kill reaches it and nothing else), logging to a file."""

    def __init__(self, name: str, args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.name, self.args, self.log, self.env = name, args, log, env
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, f"{self.name} already runs"
        with open(self.log, "ab") as log:
            log.write(f"\n==== start #{self.starts + 1} at {time.time():.3f}\n".encode())
            self.proc = subprocess.Popen(
                self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.starts += 1

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> None:
        if not self.running:
            return
        assert self.proc is not None
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class TemporalServer(Child):
    """`temporal server start-dev` on a SQLite file, with our search attributes; restartable on the same file."""

    def __init__(self, directory: Path, namespace: str = "default", pragmas: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        args = [
            temporal_binary(), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
            "--port", str(self.port), "--db-filename", str(directory / "temporal.db"),
            "--namespace", namespace, "--log-level", "warn", *cli_flags(),
        ]  # fmt: skip
        for pragma in pragmas:
            args += ["--sqlite-pragma", pragma]
        super().__init__("temporal", args, directory / "temporal.log")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        super().start()
        assert self.proc is not None
        wait_for_port(self.port, 60, self.proc)


def settings_for(directory: Path, database_url: str, temporal_address: str) -> Settings:
    tag = uuid.uuid4().hex[:8]
    return Settings(
        environment="test",
        database_url=database_url,
        temporal_address=temporal_address,
        document_store=f"file://{directory / 'documents'}",
        keys_dir=directory / "keys",
        task_queue=f"faults-{tag}",
        documents_task_queue=f"faults-docs-{tag}",
    )


def worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNOT_")}
    env.update(
        INNOT_ENVIRONMENT=settings.environment,
        INNOT_DATABASE_URL=settings.database_url,
        INNOT_TEMPORAL_ADDRESS=settings.temporal_address or "",
        INNOT_DOCUMENT_STORE=settings.document_store,
        INNOT_KEYS_DIR=str(settings.keys_dir),
        INNOT_TASK_QUEUE=settings.task_queue,
        INNOT_DOCUMENTS_TASK_QUEUE=settings.documents_task_queue,
        PYTHONPATH=str(ROOT),
    )
    return env


def worker_process(settings: Settings, directory: Path, queues: str = "all", name: str = "worker") -> Child:
    args = [sys.executable, "-m", "cli.main", "worker", "--queues", queues]
    return Child(name, args, directory / f"{name}.log", worker_env(settings))


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards; yields its URL."""
    name = f"innot_faults_{uuid.uuid4().hex[:12]}"
    admin = create_engine(str(make_url(admin_url).set(drivername="postgresql+psycopg")), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield str(make_url(admin_url).set(database=name))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
