"""Temporal workflows: deterministic, no I/O. `ALL_WORKFLOWS` is what the worker registers."""

from workflows.milestone import MilestoneWorkflow
from workflows.mission import MissionWorkflow

ALL_WORKFLOWS: list[type] = [MissionWorkflow, MilestoneWorkflow]

__all__ = ["ALL_WORKFLOWS", "MilestoneWorkflow", "MissionWorkflow"]
