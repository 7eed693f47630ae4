"""Temporal workflows: deterministic, no I/O. `ALL_WORKFLOWS` is what the worker registers.

The package imports its workflows lazily (PEP 562): the workflow sandbox imports a workflow's module afresh for
every workflow run, parents included, so an eager ``__init__`` would make every milestone run import the mission
and membership workflows as well."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflows.digest import NoticeDigestWorkflow
    from workflows.dispute import DisputeWorkflow
    from workflows.membership import MembershipWorkflow
    from workflows.milestone import MilestoneWorkflow
    from workflows.mission import MissionWorkflow

    ALL_WORKFLOWS: list[type]

__all__ = [
    "ALL_WORKFLOWS",
    "DisputeWorkflow",
    "MembershipWorkflow",
    "MilestoneWorkflow",
    "MissionWorkflow",
    "NoticeDigestWorkflow",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from workflows.digest import NoticeDigestWorkflow
    from workflows.dispute import DisputeWorkflow
    from workflows.membership import MembershipWorkflow
    from workflows.milestone import MilestoneWorkflow
    from workflows.mission import MissionWorkflow

    found: dict[str, Any] = {
        "ALL_WORKFLOWS": [
            MissionWorkflow,
            MilestoneWorkflow,
            DisputeWorkflow,
            MembershipWorkflow,
            NoticeDigestWorkflow,
        ],
        "DisputeWorkflow": DisputeWorkflow,
        "MembershipWorkflow": MembershipWorkflow,
        "MilestoneWorkflow": MilestoneWorkflow,
        "MissionWorkflow": MissionWorkflow,
        "NoticeDigestWorkflow": NoticeDigestWorkflow,
    }
    globals().update(found)
    return found[name]
