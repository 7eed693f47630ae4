"""Each party sees only what is theirs of a mission (domain.visibility), on the shared live mission: three candidates
invited and proposing (each at their own price, with their own milestone titles), one removed from the shortlist
before the invitations, the first selected, the contract signed, the first milestone delivered and invoiced.

A losing candidate reads their own invitation and proposal and the mission's own steps until the selection; never
another candidate, price, the contract, its milestones, invoices, documents or messages. The expert removed from
the shortlist was never invited: the mission answers them 404 like a missing one, everywhere. The selected expert
sees the contract and its delivery, but not the other candidates. The client sees every candidate.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from api.deps import ACCESS_COOKIE
from store.models.legal import DocumentRecord
from tests.api.live import LOSER, REMOVED, LiveMission, secrets

pytestmark = [pytest.mark.db, pytest.mark.devserver]

CLIENT, SELECTED, OTHER = "client_a", "expert_selected", "expert_other"  # OTHER: the second losing candidate


async def get(live: LiveMission, role: str, path: str) -> httpx.Response:
    live.api.cookies.clear()
    return await live.api.get(path, headers=live.parties[role].headers)


async def page(live: LiveMission, role: str, path: str) -> httpx.Response:
    """A portal page, as the browser asks for it (the access cookie)."""
    live.api.cookies.clear()
    return await live.api.get(path, headers={"Cookie": f"{ACCESS_COOKIE}={live.tokens[role]}"})


def told(answer: httpx.Response, secrets_: set[str]) -> list[str]:
    return sorted(s for s in secrets_ if s in answer.text)


def kinds(detail: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in detail["timeline"] if e["kind"] == kind]


async def test_a_losing_candidate_reads_their_own_part_and_nothing_of_the_others(live_mission: LiveMission) -> None:
    live = live_mission
    me = live.parties[LOSER].member_id
    base = f"/missions/{live.mission_id}"
    hidden = (await secrets(live))[LOSER]

    answer = await get(live, LOSER, base)
    assert answer.status_code == 200 and not told(answer, hidden)
    detail = answer.json()
    assert [e["summary"] for e in kinds(detail, "expert_invited")] == [me], "their own invitation only"
    assert [e["summary"] for e in kinds(detail, "proposal_submitted")] == ["9500.00 EUR"], "their own price only"
    assert kinds(detail, "invitation_accepted") and kinds(detail, "need_submitted")
    contract_steps = {"stage:contract", "contract_ready", "contract_signed", "stage:delivery", "milestone_started"}
    assert not contract_steps & {e["kind"] for e in detail["timeline"]}
    assert not any(e["kind"].startswith("milestone") for e in detail["timeline"])
    assert detail["milestones"] == [] and detail["open_tasks"] == []
    assert detail["mission"]["selected_expert_id"] is None and detail["mission"]["next_deadline"] is None

    answer = await get(live, LOSER, f"{base}/state")
    assert answer.status_code == 200 and not told(answer, hidden)
    state = answer.json()
    assert [p["expert_id"] for p in state["proposals"]] == [me]
    assert [i["expert_id"] for i in state["invitations"]] == [me]
    assert state["selected_expert_id"] is None and state["contract"] is None and state["milestones"] == []
    assert state["documents"] == [] and state["deadlines"] == [] and state["shortlist"] == state["reserve"] == []

    listed = (await get(live, LOSER, "/missions")).json()["items"]
    row = next(m for m in listed if m["id"] == live.mission_id)
    assert row["selected_expert_id"] is None and row["next_deadline"] is None

    assert (await get(live, LOSER, f"{base}/documents")).json() == []
    client_documents = (await get(live, CLIENT, f"{base}/documents")).json()
    assert {d["kind"] for d in client_documents} >= {"contract", "deliverable", "mission_invoice"}
    for document in client_documents:
        assert (await get(live, LOSER, f"{base}/documents/{document['id']}")).status_code == 404

    threads = (await get(live, LOSER, f"{base}/threads")).json()
    assert [t["expert_id"] for t in threads] == [me]
    own = (await get(live, LOSER, f"{base}/threads/{me}/messages")).json()
    assert [m["body"] for m in own] == ["Merci pour votre offre"]
    winner = live.parties[SELECTED].member_id
    assert (await get(live, LOSER, f"{base}/threads/{winner}/messages")).status_code == 404

    inbox = await get(live, LOSER, "/tasks")
    assert inbox.status_code == 200 and not told(inbox, hidden)
    assert live.mission_id not in {t["mission_id"] for t in inbox.json()}, "nothing left to do for them"


async def test_the_portal_shows_a_losing_candidate_only_their_own_part(live_mission: LiveMission) -> None:
    live = live_mission
    hidden = (await secrets(live))[LOSER]
    mission = await page(live, LOSER, f"/portal/missions/{live.mission_id}")
    assert mission.status_code == 200
    assert "9500.00 EUR" in mission.text and "Diagnostic Beta" in mission.text, "their own proposal"
    assert not told(mission, hidden)
    for path in ("/portal/missions", "/portal/inbox"):
        answer = await page(live, LOSER, path)
        assert answer.status_code == 200 and not told(answer, hidden), path


async def test_an_expert_removed_from_the_shortlist_finds_nothing_of_the_mission(live_mission: LiveMission) -> None:
    live = live_mission
    hidden = (await secrets(live))[REMOVED]
    missing = f"/missions/{uuid.uuid4()}"
    for suffix in ("", "/state", "/documents", "/threads", f"/threads/{live.parties[REMOVED].member_id}/messages"):
        foreign = await get(live, REMOVED, f"/missions/{live.mission_id}{suffix}")
        absent = await get(live, REMOVED, f"{missing}{suffix}")
        assert foreign.status_code == 404 and (foreign.status_code, foreign.text) == (absent.status_code, absent.text)
    assert (await page(live, REMOVED, f"/portal/missions/{live.mission_id}")).status_code == 404
    for answer in [await get(live, REMOVED, p) for p in ("/missions", "/tasks")] + [
        await page(live, REMOVED, p) for p in ("/portal/missions", "/portal/inbox")
    ]:
        assert answer.status_code == 200 and not told(answer, hidden), answer.request.url


async def test_the_selected_expert_sees_the_contract_but_no_other_candidate(live_mission: LiveMission) -> None:
    live = live_mission
    me = live.parties[SELECTED].member_id
    others = {live.parties[role].member_id for role in (LOSER, REMOVED, OTHER)}
    detail = (await get(live, SELECTED, f"/missions/{live.mission_id}")).json()
    assert [e["summary"] for e in kinds(detail, "expert_invited")] == [me]
    assert [e["summary"] for e in kinds(detail, "proposal_submitted")] == ["9000.00 EUR"]
    assert kinds(detail, "contract_ready") and any(e["kind"].startswith("milestone:") for e in detail["timeline"])
    assert detail["milestones"][0]["invoice_number"] and detail["mission"]["selected_expert_id"] == me
    state = await get(live, SELECTED, f"/missions/{live.mission_id}/state")
    assert [p["expert_id"] for p in state.json()["proposals"]] == [me]
    assert not any(other in state.text for other in others)


async def test_the_client_sees_every_candidate_and_their_prices(live_mission: LiveMission) -> None:
    live = live_mission
    detail = (await get(live, CLIENT, f"/missions/{live.mission_id}")).json()
    invited = {live.parties[role].member_id for role in (SELECTED, LOSER, OTHER)}
    assert {e["summary"] for e in kinds(detail, "expert_invited")} == invited
    assert sorted(e["summary"] for e in kinds(detail, "proposal_submitted")) == [
        "10000.00 EUR",
        "9000.00 EUR",
        "9500.00 EUR",
    ]
    assert kinds(detail, "shortlist_edited") and detail["milestones"][0]["invoice_number"]


async def test_a_losing_candidate_cannot_probe_the_contracts_milestones(live_mission: LiveMission) -> None:
    """A deliverable sent by a losing candidate is refused as for a milestone that does not exist, before the file
    is stored: the refusal does not tell the milestone's stage."""
    live = live_mission
    base = f"/missions/{live.mission_id}/milestones"
    live.api.cookies.clear()

    async def deliver(role: str, number: int) -> httpx.Response:
        files = {"file": ("probe.pdf", f"%PDF-1.4 {role}".encode(), "application/pdf")}
        return await live.api.post(f"{base}/{number}/deliverable", files=files, headers=live.parties[role].headers)

    probe, missing = await deliver(LOSER, 1), await deliver(SELECTED, 9)
    assert probe.status_code == missing.status_code == 404 and probe.json() == missing.json()
    with live.app.state.session_factory() as session:
        ours = DocumentRecord.mission_id == uuid.UUID(live.mission_id)
        stored = session.scalars(select(DocumentRecord.sha256).where(ours))
        assert hashlib.sha256(f"%PDF-1.4 {LOSER}".encode()).hexdigest() not in set(stored)
