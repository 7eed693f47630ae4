"""Property-based fuzzing of the whole OpenAPI document with schemathesis: thousands of generated requests, valid
(positive) and invalid (negative), sent in process to the app on a real mission (Temporal dev server, workers in
process), each as the callers that may use the route. No answer may be a server error: bad input gets a 4xx
that names the field.

Cases are drawn by Hypothesis without I/O, then sent through httpx's ASGI transport on this test's event loop
(the same loop runs the Temporal workers, which a blocking test client would starve).
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from tests.api.live import LiveMission, build_live_mission
from tests.api.matrix_rules import ANON, KINDS, OK, ROLES, RULES

pytestmark = [pytest.mark.db, pytest.mark.devserver]

POSITIVE_PER_OPERATION = 24
NEGATIVE_PER_OPERATION = 14
# Routes that end the mission or the caller's session run last, or anonymously.
LAST = ("/terminate", "/cancel")


@pytest.fixture(scope="session")
async def fuzz_mission(
    dev_server_env: WorkflowEnvironment,
    engine: Engine,
    session_factory: sessionmaker[Session],
    tmp_path_factory: pytest.TempPathFactory,
) -> Any:
    """A mission of its own: the fuzzer may cancel, pause or terminate it."""
    var: Path = tmp_path_factory.mktemp("fuzz")
    async with build_live_mission(dev_server_env, engine, session_factory, var) as live:
        yield live


def _draw(operation: Any, mode: GenerationMode, count: int) -> list[Case[Any]]:
    cases: list[Case[Any]] = []

    @given(operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def collect(case: Case[Any]) -> None:
        cases.append(case)

    with contextlib.suppress(Unsatisfiable):  # nothing to make invalid: no parameters, no body
        collect()
    return cases


def _callers(method: str, path: str) -> list[str]:
    """Who may call the route (from the authorization matrix); the fuzzer sends each case as one of them."""
    if path == "/auth/logout":
        return [ANON]  # a logout would end the shared sessions
    rule = RULES[(method, path)]
    row = KINDS[rule.kind] | rule.only
    allowed = [role for role in ROLES if row.get(role, OK) == OK]
    return allowed or [ANON]


def _real_ids(live: LiveMission) -> dict[str, str]:
    return {
        "mission_id": live.mission_id,
        "expert_id": live.parties["expert_selected"].member_id,
        "document_id": live.document_id,
        "member_id": live.parties["client_a"].member_id,
    }


def _request(case: Case[Any], live: LiveMission, role: str, use_real_ids: bool) -> dict[str, Any]:
    if use_real_ids and case.path_parameters:
        for name, value in _real_ids(live).items():
            if name in case.path_parameters:
                case.path_parameters[name] = value
    kwargs: dict[str, Any] = case.as_transport_kwargs(base_url="http://innot.test")
    headers = {k: v for k, v in kwargs.pop("headers", {}).items() if k.lower() != "authorization"}
    if role != ANON:
        headers["Authorization"] = f"Bearer {live.tokens[role]}"
    cookies = kwargs.pop("cookies", None) or {}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    request: dict[str, Any] = {"method": kwargs.pop("method"), "url": kwargs.pop("url"), "headers": headers}
    for key in ("params", "json"):
        if kwargs.get(key) is not None:
            request[key] = kwargs.pop(key)
    if kwargs.get("files"):
        request["files"] = [(_text(name), (filename, _bytes(value))) for name, (filename, value) in kwargs["files"]]
    data = kwargs.pop("data", None)
    if isinstance(data, bytes | str):
        request["content"] = data
    elif data is not None:
        request["data"] = data
    return request


def _text(value: str) -> str:
    return value.encode("utf-8", "replace").decode()


def _bytes(value: object) -> bytes:
    """A multipart part as httpx sends it (the generator also makes numbers and lone surrogates)."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


def _operations(schema: Any) -> Iterator[Any]:
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: (op.path.endswith(LAST), op.path, op.method))
    yield from operations


async def test_no_generated_request_gets_a_server_error(fuzz_mission: LiveMission) -> None:
    live = fuzz_mission
    schema = schemathesis.openapi.from_asgi("/openapi.json", live.app)
    started, sent, failures = time.monotonic(), 0, []
    per_status: dict[int, int] = {}
    for operation in _operations(schema):
        method, path = operation.method.upper(), operation.path
        callers = itertools.cycle(_callers(method, path))
        cases = _draw(operation, GenerationMode.POSITIVE, POSITIVE_PER_OPERATION)
        cases += _draw(operation, GenerationMode.NEGATIVE, NEGATIVE_PER_OPERATION)
        for n, case in enumerate(cases):
            live.api.cookies.clear()
            request = _request(case, live, next(callers), use_real_ids=n % 3 != 2)
            built = live.api.build_request(**request)
            built.read()  # multipart bodies stream: read them so the check can show the request
            response = await live.api.send(built)
            sent += 1
            per_status[response.status_code] = per_status.get(response.status_code, 0) + 1
            try:
                case.validate_response(response, checks=[not_a_server_error])
            except BaseExceptionGroup as exc:  # schemathesis raises a group of check failures
                failures.append(f"{method} {path} -> {response.status_code} {response.text[:300]}\n  {exc!s:.300}")
                continue
            if response.status_code == 422 and "json" in response.headers.get("content-type", ""):
                assert response.json().get("detail"), f"{method} {path}: a 422 without a reason"
    elapsed = time.monotonic() - started
    print(f"\nschemathesis: {sent} requests in {elapsed:.1f} s; statuses {dict(sorted(per_status.items()))}")
    assert sent >= 2000
    assert not failures, f"{len(failures)} server error(s):\n" + "\n".join(failures[:20])
