"""Replay the saved histories with today's code: a non-deterministic change fails here, not in production.
The histories are recorded by tests/workflows/record_histories.py (README, "Changing a workflow")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from config.temporal import workflow_runner
from workflows import ALL_WORKFLOWS

HISTORIES = sorted((Path(__file__).resolve().parent.parent / "histories").glob("*.json"))
TEXTS = {p.stem: p.read_text() for p in HISTORIES}


def test_every_workflow_has_a_saved_history() -> None:
    kinds = {
        json.loads(p.read_text())["events"][0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]
        for p in HISTORIES
    }
    assert kinds >= {"MissionWorkflow", "MilestoneWorkflow", "DisputeWorkflow", "MembershipWorkflow"}


@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandboxed", "unsandboxed"])
@pytest.mark.parametrize("name", sorted(TEXTS))
async def test_saved_history_replays(name: str, sandboxed: bool) -> None:
    history = WorkflowHistory.from_json(f"replay-{name}", TEXTS[name])
    replayer = Replayer(
        workflows=ALL_WORKFLOWS,
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(sandboxed=sandboxed),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
