"""The two processes `bench.api` measures: the API under uvicorn and the workers, started as `make run` starts them,
each with the bench-only baseline it needs.

- the API process adds two routes with no authentication, check or audit: `GET /bench/bare/{id}` reads one mission
  row (the floor of a read), `POST /bench/bare-update/{workflow_id}` sends the echo workflow's Update (the floor of
  an action over HTTP);
- the worker process runs the real workers, and the worker of `EchoWorkflow`, a trivial workflow with one Update
  (the floor of an Update round trip on this Temporal server).

`python -m bench.api_processes serve CONFIG PORT` / `work CONFIG`: what `start` runs, CONFIG being the settings as
JSON.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import uuid
from datetime import datetime
from typing import Any

import httpx
from fastapi import Request
from pydantic import BaseModel
from temporalio import workflow

from config.settings import ROOT, Settings

# --- the bare Temporal Update baseline ------------------------------------------------------------------------


class Ping(BaseModel):
    n: int


class Pong(BaseModel):
    n: int
    at: datetime


@workflow.defn(name="BenchEcho")
class EchoWorkflow:
    """A trivial workflow with one update: the floor of an Update round trip on this Temporal server."""

    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.done)

    @workflow.update
    async def echo(self, ping: Ping) -> Pong:
        return Pong(n=ping.n, at=workflow.now())

    @echo.validator
    def _v_echo(self, ping: Ping) -> None:
        if ping.n < 0:
            raise ValueError("n: must be >= 0")

    @workflow.signal
    def stop(self) -> None:
        self.done = True


def echo_task_queue(config: dict[str, Any]) -> str:
    return f"{config['task_queue']}-echo"


# --- the server process ---------------------------------------------------------------------------------------


def bare(mission_id: uuid.UUID, request: Request) -> dict[str, Any]:
    """The bench-only baseline: FastAPI reading one mission row, no authentication."""
    from store.models.readmodel import MissionRecord

    with request.app.state.session_factory() as session:
        row = session.get(MissionRecord, mission_id)
        return {"id": str(mission_id), "stage": row.stage if row else None, "title": row.title if row else None}


async def bare_update(workflow_id: str, request: Request) -> dict[str, Any]:
    """The bench-only floor of an action over HTTP: the bare Update of the echo workflow from a route with no
    authentication, check or audit (what HTTP alone adds to an Update round trip)."""
    handle = request.app.state.temporal.get_workflow_handle(workflow_id)
    pong: Pong = await handle.execute_update(EchoWorkflow.echo, Ping(n=1), result_type=Pong)
    return pong.model_dump(mode="json")


def settings_of(config: dict[str, Any]) -> Settings:
    return Settings(environment="test", **config)


async def serve(config: dict[str, Any], port: int) -> None:
    """The API under uvicorn on 127.0.0.1, plus the bench-only bare endpoints."""
    import uvicorn

    from api.app import create_app
    from config.temporal import connect

    settings = settings_of(config)
    app = create_app(settings, temporal=await connect(settings))
    app.add_api_route("/bench/bare/{mission_id}", bare, methods=["GET"], include_in_schema=False)
    app.add_api_route("/bench/bare-update/{workflow_id}", bare_update, methods=["POST"], include_in_schema=False)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")
    )
    await server.serve()


async def work(config: dict[str, Any]) -> None:
    """The worker process: the real workers, and the echo workflow's worker for the bare Update baseline."""
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker

    from bench import api_processes as importable  # the workflow class from an importable module (not __main__)
    from config.temporal import connect
    from worker import build_workers

    settings = settings_of(config)
    client = await connect(settings)
    workers = build_workers(client, settings)
    # unsandboxed: this module imports the bench's tools; the echo workflow itself is deterministic
    workers.append(
        Worker(
            client,
            task_queue=echo_task_queue(config),
            workflows=[importable.EchoWorkflow],
            workflow_runner=UnsandboxedWorkflowRunner(),
        )
    )
    await asyncio.gather(*(w.run() for w in workers))


# --- starting them ----------------------------------------------------------------------------------------------


def start(config: dict[str, Any]) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """Start the API and the worker processes; the API's base URL, and the processes to stop at the end."""
    port = _free_port()
    here = [sys.executable, "-m", "bench.api_processes"]
    server = subprocess.Popen([*here, "serve", json.dumps(config), str(port)], cwd=ROOT)
    workers = subprocess.Popen([*here, "work", json.dumps(config)], cwd=ROOT)
    return f"http://127.0.0.1:{port}", [server, workers]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(300):
            if server.poll() is not None:
                raise RuntimeError(f"the API server exited with {server.returncode}")
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the API server did not come up")


def main() -> None:
    role, config = sys.argv[1], json.loads(sys.argv[2])
    if role == "serve":
        import uvicorn

        # the event loop `innot api` runs on: uvicorn.run's (loop "auto": uvloop when installed, as it is here)
        with asyncio.Runner(loop_factory=uvicorn.Config("api.app:create_app").get_loop_factory()) as runner:
            runner.run(serve(config, int(sys.argv[3])))
    elif role == "work":
        asyncio.run(work(config))
    else:
        raise SystemExit(f"usage: python -m bench.api_processes serve CONFIG PORT | work CONFIG, not {role}")


if __name__ == "__main__":
    main()
