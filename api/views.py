"""Each party's view of a mission, shaped for each answer. The rule is `domain.visibility`; the standing comes from
`store.access`; every read (API detail and lists, `/state` and each action's answer, documents, the portal's pages)
applies it through the functions here, so that no view filters on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import Response
from pydantic import BaseModel

from api.schemas.missions import MissionSummary
from domain.mission import MissionView
from domain.visibility import redact_view, sees_contract, sees_event, sees_rating, sees_task
from store.access import Sight, viewer_of
from store.models.community import User


def redact(view: MissionView, user: User) -> MissionView:
    """The workflow's full state as this user may see it."""
    return redact_view(view, viewer_of(user))


def summary_of(sight: Sight) -> MissionSummary:
    """The mission's list row: a candidate does not learn who was selected, nor the contract's deadlines."""
    summary = MissionSummary.model_validate(sight.mission)
    if sees_contract(sight.standing) or summary.selected_expert_id is None:
        return summary
    return summary.model_copy(update={"selected_expert_id": None, "next_deadline": None})


def timeline_of(sight: Sight, entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The timeline entries (of the materialised detail, each with the expert it concerns) this viewer may see."""
    return [
        e for e in entries if sees_event(sight.standing, sight.viewer, kind=e["kind"], expert_id=e.get("expert_id"))
    ]


def milestones_of(sight: Sight, milestones: list[Any]) -> list[Any]:
    return milestones if sees_contract(sight.standing) else []


def tasks_of(sight: Sight, tasks: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The open tasks addressed to this viewer."""
    return [
        t for t in tasks if sees_task(sight.viewer, role=t["role"], party_id=t.get("party_id"), action=t.get("action"))
    ]


def ratings_of(sight: Sight, ratings: Iterable[Any]) -> list[Any]:
    """The mission's ratings (rows with `by` and `revealed_at`) this viewer may see: double-blind until revealed."""
    return [r for r in ratings if sees_rating(sight.standing, by=r.by, revealed=r.revealed_at is not None)]


def sees_documents(sight: Sight) -> bool:
    """Contract, deliverables and invoices all belong to the contract."""
    return sees_contract(sight.standing)


def json_response(model: BaseModel) -> Response:
    """The model as JSON, serialised once by pydantic (a returned model would be validated and serialised again
    by FastAPI against the route's response_model, which still documents the answer)."""
    return Response(model.model_dump_json(), media_type="application/json")
