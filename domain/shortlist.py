"""What matching is asked for a need and what it answers: the shortlist the client reviews and the reserve."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from domain.need import Need


class ShortlistRequest(BaseModel):
    mission_id: UUID
    client_org_id: UUID
    need: Need
    exclude_expert_ids: list[UUID] = Field(default_factory=list, description="declined or removed already")
    size: int = 5
    reserve_size: int = 15


class Candidate(BaseModel):
    expert_id: UUID
    score: float
    contributions: dict[str, float] = Field(
        default_factory=dict, description="criterion -> contribution to the score; empty in the reserve"
    )
    explanation_fr: str = Field(default="", description="why this expert, in French; empty in the reserve")
    explanation_en: str = Field(default="", description="why this expert, in English; empty in the reserve")
    picked_by_client: bool = Field(default=False, description="chosen by the client in the directory, not matched")


class Shortlist(BaseModel):
    candidates: list[Candidate] = Field(description="what the client reviews, each candidate explained")
    reserve: list[Candidate] = Field(
        description="in order, for invitation backfill: each expert and score, not explained (nobody reviews the "
        "reserve; explained, it was most of a mission's state, carried by every action's answer)"
    )


def client_pick(expert_id: UUID) -> Candidate:
    """An expert the client chose in the directory and put on the shortlist: not scored, explained as such."""
    return Candidate(
        expert_id=expert_id,
        score=0.0,
        explanation_fr="Choisi par le client dans l'annuaire des experts (hors classement).",
        explanation_en="Chosen by the client from the expert directory (not ranked by matching).",
        picked_by_client=True,
    )


class ExposureRecord(BaseModel):
    """The experts a shortlist put in front of a client, counted once per (mission, expert) for fair exposure."""

    mission_id: UUID
    expert_ids: list[UUID]
    at: datetime = Field(description="when the shortlist was shown (the workflow's time)")


class ExposureWindow(BaseModel):
    """Recount every expert's recent exposure over the fairness window ending at ``now`` (the workflow's time)."""

    now: datetime
    window_days: int = Field(default=90, ge=1, le=366)
