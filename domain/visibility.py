"""Who sees what of a mission: the one rule that every read applies (API detail, lists and `/state`, timeline,
portal pages, inbox, documents, messages). Pure code; `store.access` finds where a viewer stands, `api.views`
shapes each answer with the predicates below.

A viewer stands in one of four places towards a mission, or nowhere:

- **ops** see everything (their reading of private messages goes through the audited dispute route);
- the **client** (any member of the mission's organisation, whatever their role in it: admin, buyer, approver or
  finance, who sees the documents and invoices it pays) sees the whole mission, every candidate included: choosing
  among them is their job; the tasks shown to a member are those their role answers (`domain.actions`);
- the **contractor** (the selected expert) sees the mission's own steps, their own invitation and proposal, and
  everything of the contract: its events, milestones, documents, invoices and ratings;
- **ratings are double-blind**: the client and the contractor each see their own rating, and the other's only once
  both rated or the feedback window closed (`sees_rating`); the timeline tells who rated, the score only then;
- a **party to a handover** (an expert a contract amendment names who is not the contractor: the outgoing one once
  it is sealed, whose undelivered milestones went to another, and the incoming one while they are asked to sign it,
  workflows/handover.py) sees their part: the mission's own steps and the events that concern them, the contract
  and the amendments that name them (their documents too), their own milestones (delivered, invoiced and paid to
  them), tasks and invoices; not the other expert's milestones, deliverables or invoices;
- a **candidate** (an expert invited and not selected, whose invitation is pending, accepted, or was withdrawn by
  the platform) sees the need, their own invitation and proposal, and the mission's own steps until someone is
  selected; never another candidate, a score, a price, nor anything of the contract (who, deadlines, events,
  milestones, documents);
- **nowhere** (the mission answers 404 exactly like a missing one): a client of another organisation, an expert
  never invited (still on the shortlist or in the reserve, or removed from the shortlist by the client), and an
  expert who declined the invitation or let it expire (they left the mission before taking part in it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from domain.actions import answers_task
from domain.mission import MissionView


class Standing(StrEnum):
    OPS = "ops"
    CLIENT = "client"
    CONTRACTOR = "contractor"
    HANDOVER = "handover_party"
    CANDIDATE = "candidate"


@dataclass(frozen=True)
class Viewer:
    """The account reading: its role, and its organisation (clients) or expert profile (experts)."""

    role: str
    organisation_id: uuid.UUID | None = None
    expert_id: uuid.UUID | None = None
    org_role: str | None = None  # a client member's role in their organisation (domain.org_roles)


# An expert's participation (the read model's mission_experts.status) that keeps them a candidate.
KEEPS_SIGHT: frozenset[str] = frozenset({"pending", "accepted", "withdrawn", "selected", "handed_over", "taking_over"})
# An expert's participation that makes them a party to a handover (a contract amendment): outgoing, or incoming
HANDOVER: frozenset[str] = frozenset({"handed_over", "taking_over"})

# The mission's own steps, shown to every party of the mission when they name no expert. From the selection on,
# every event belongs to the contract: the projection attributes it to the contractor (`concerned_expert`), so a
# candidate does not see it. Any other event naming no expert (the shortlist, the number of proposals, deadlines
# passed) is the client's and ops'. A kind that is new or unknown here is therefore shown to no expert: fail closed.
MISSION_WIDE_EVENTS: frozenset[str] = frozenset(
    {
        "need_submitted",
        "stage:invitations",
        "stage:proposals",
        "proposal_round_opened",
        "new_round_requested",
        "stage:cancelled",
        "paused",
        "resumed",
    }
)

# Events about one candidate (their invitation, answer, proposal): shown to that candidate only. The projection
# names the expert from the event's own data; an event it cannot attribute to exactly one expert is shown to none.
CANDIDATE_EVENTS: frozenset[str] = frozenset(
    {
        "expert_invited",
        "expert_joined",
        "invitation_accepted",
        "invitation_declined",
        "invitation_expired",
        "invitation_withdrawn",
        "proposal_submitted",
        "proposal_withdrawn",
        "expert_reassigned",
    }
)


def standing(
    viewer: Viewer,
    *,
    client_org_id: uuid.UUID,
    selected_expert_id: uuid.UUID | None,
    participation: str | None,
) -> Standing | None:
    """Where the viewer stands towards a mission; None: nowhere (the mission must answer 404 like a missing one).
    `participation`: the viewer's invitation status in the mission (experts), None if never invited."""
    if viewer.role == "ops":
        return Standing.OPS
    if viewer.role == "client":
        return Standing.CLIENT if viewer.organisation_id == client_org_id else None
    if viewer.role != "expert" or viewer.expert_id is None:
        return None
    if selected_expert_id == viewer.expert_id:
        return Standing.CONTRACTOR
    if participation in HANDOVER:
        return Standing.HANDOVER
    return Standing.CANDIDATE if participation in KEEPS_SIGHT else None


def sees_contract(place: Standing) -> bool:
    """The contract and all it carries: who was selected, its deadlines, milestones, deliverables, invoices,
    documents and ratings."""
    return place in (Standing.OPS, Standing.CLIENT, Standing.CONTRACTOR)


def sees_own_part(place: Standing) -> bool:
    """A party to a handover: the contract documents and amendments naming them, their own milestones and invoices."""
    return place is Standing.HANDOVER


def sees_rating(place: Standing, *, by: str, revealed: bool) -> bool:
    """A rating given `by` the client or the expert: double-blind for the two parties until `revealed` (both rated,
    or the feedback window closed); ops see them all, a candidate none."""
    if place is Standing.OPS:
        return True
    if place is Standing.CANDIDATE:
        return False
    return revealed or by == ("client" if place is Standing.CLIENT else "expert")


def sees_event(place: Standing, viewer: Viewer, *, kind: str, expert_id: str | uuid.UUID | None) -> bool:
    """A timeline event (its `kind`, and the expert it concerns as the projection recorded it)."""
    if place in (Standing.OPS, Standing.CLIENT):
        return True
    if expert_id is not None:
        return str(expert_id) == str(viewer.expert_id)
    return kind in MISSION_WIDE_EVENTS


def sees_task(viewer: Viewer, *, role: str, party_id: str | uuid.UUID | None, action: str | None = None) -> bool:
    """An open task is shown to whom it is addressed: its role, and its organisation or expert (ops tasks have no
    party), and within an organisation the members whose role answers its `action`. The inbox's query applies the
    same rule (`store.missions.inbox_rows`, then `domain.actions.answers_task`)."""
    if role != viewer.role:
        return False
    if action is not None and not answers_task(viewer.role, viewer.org_role, action):
        return False
    party = {"client": viewer.organisation_id, "expert": viewer.expert_id}.get(viewer.role)
    return party is None or str(party_id) == str(party)


def sees_thread(place: Standing, viewer: Viewer, *, thread_expert_id: uuid.UUID) -> bool:
    """A message thread (one per expert of the mission): the client's members and that expert. Ops read a thread
    only through the audited dispute route, never here."""
    if place is Standing.CLIENT:
        return True
    experts = (Standing.CONTRACTOR, Standing.HANDOVER, Standing.CANDIDATE)
    return place in experts and viewer.expert_id == thread_expert_id


def concerned_expert(
    kind: str,
    *,
    details: dict[str, str],
    opened_for_experts: Iterable[uuid.UUID | None],
    closed_task_keys: Iterable[str],
    selected_expert_id: uuid.UUID | None,
) -> uuid.UUID | None:
    """The expert an event concerns, recorded with it so that every read can filter the timeline (write side).

    A candidate event names its expert through its own data: the tasks it opens for an expert, the tasks it closes
    (a task key names its expert by id), an `expert_id` detail. Any other event naming an expert in its details
    concerns that expert (the selection names the contractor); from the selection on, an event concerns the
    contractor; before it, None: a step of the mission itself."""
    if kind in CANDIDATE_EVENTS:
        named = {e for e in opened_for_experts if e is not None}
        named |= {e for key in closed_task_keys for e in _ids_in(key)}
        named |= set(_ids_in(details.get("expert_id", "")))
        if kind == "expert_reassigned":  # from one expert to another: it is the first's withdrawal
            named = set(_ids_in(details.get("from", ""))) or named
        return named.pop() if len(named) == 1 else None
    named_in_details = _ids_in(details.get("expert_id", ""))
    if named_in_details:
        return named_in_details[0]
    return selected_expert_id


def _ids_in(text: str) -> list[uuid.UUID]:
    found = []
    for part in text.split(":"):
        try:
            found.append(uuid.UUID(part))
        except ValueError:
            continue
    return found


def redact_view(view: MissionView, viewer: Viewer) -> MissionView:
    """The workflow's full state as this viewer may see it (`GET /missions/{id}/state` and every action's answer).
    An expert who stands nowhere any more (e.g. the answer to their own decline) gets a candidate's view."""
    me = viewer.expert_id
    place = standing(
        viewer,
        client_org_id=view.client_org_id,
        selected_expert_id=view.selected_expert_id,
        participation=view.participations().get(me) if me else None,
    )
    if place is Standing.OPS:
        return view
    revealed = view.ratings_revealed
    if place is Standing.CLIENT:
        return view.model_copy(
            update={"ratings": [r for r in view.ratings if sees_rating(place, by=r.by, revealed=revealed)]}
        )
    place = place or Standing.CANDIDATE
    contract, handover = sees_contract(place), sees_own_part(place)
    named = [a for a in view.amendments if handover and me in (a.from_expert_id, a.to_expert_id)]
    own = [m for m in view.milestones if handover and m.expert_id == me]
    open_to_me = contract or view.selected_expert_id is None  # a candidate's sight ends at the selection
    return view.model_copy(
        update={
            "shortlist": [],
            "reserve": [],
            "removed_expert_ids": [],
            "invitations": [i for i in view.invitations if i.expert_id == me],
            "proposals": [p for p in view.proposals if p.expert_id == me],
            "selected_expert_id": view.selected_expert_id if contract else None,
            "contract": view.contract if contract or handover else None,
            "amendments": view.amendments if contract else named,
            "former_expert_ids": view.former_expert_ids if contract else [],
            "milestones": view.milestones if contract else own,
            "ratings": [r for r in view.ratings if sees_rating(place, by=r.by, revealed=revealed)],
            "pending_actions": [a for a in view.pending_actions if a.role.value == "expert" and a.party_id == me],
            # a deadline's key may name an expert (an invitation's): only one's own
            "deadlines": [d for d in view.deadlines if open_to_me and set(_ids_in(d.key)) <= {me}],
            # the pool, a dispute or a repair are the client's, ops' and the contractor's business
            "attention_reason": view.attention_reason if contract else None,
            "dispute_reason": view.dispute_reason if contract else None,
            "disputes": view.disputes if contract else 0,
            "cancel_request": view.cancel_request if contract else None,
            "paused_reason": view.paused_reason if open_to_me else None,
            "closed_reason": view.closed_reason if open_to_me else None,
        }
    )
