"""Fault tests: real processes killed and restarted. They take minutes, so they run only when selected with
`-m faults` (`make test-faults`), never in the default suite."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: fault-injection test (processes killed, database cut); make test-faults"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "faults" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="fault test: run with -m faults (make test-faults)")
    for item in items:
        if item.get_closest_marker("faults"):
            item.add_marker(skip)
