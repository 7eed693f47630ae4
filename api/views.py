"""What each party may see of a mission's full state (the workflow's MissionView).

Clients see their mission whole. An expert sees the need, their own invitation, proposal and — once selected —
the contract and milestones; never the other candidates, their scores or their prices. Ops see everything.
"""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel

from domain.mission import MissionView
from store.models.community import User


def redact(view: MissionView, user: User) -> MissionView:
    if user.role in ("ops", "client"):
        return view
    me = user.expert_id
    selected = view.selected_expert_id == me
    return view.model_copy(
        update={
            "shortlist": [],
            "reserve": [],
            "removed_expert_ids": [],
            "invitations": [i for i in view.invitations if i.expert_id == me],
            "proposals": [p for p in view.proposals if p.expert_id == me],
            "contract": view.contract if selected else None,
            "milestones": view.milestones if selected else [],
            "pending_actions": [a for a in view.pending_actions if a.role.value == "expert" and a.party_id == me],
            "ratings": view.ratings if selected else [],
        }
    )


def json_response(model: BaseModel) -> Response:
    """The model as JSON, serialised once by pydantic (a returned model would be validated and serialised again
    by FastAPI against the route's response_model, which still documents the answer)."""
    return Response(model.model_dump_json(), media_type="application/json")
