"""Temporal workflows: deterministic, no I/O. `ALL_WORKFLOWS` is what the worker registers."""

from workflows.membership import MembershipWorkflow
from workflows.milestone import MilestoneWorkflow
from workflows.mission import MissionWorkflow

ALL_WORKFLOWS: list[type] = [MissionWorkflow, MilestoneWorkflow, MembershipWorkflow]

__all__ = ["ALL_WORKFLOWS", "MembershipWorkflow", "MilestoneWorkflow", "MissionWorkflow"]
