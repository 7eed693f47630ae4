"""The approval step through the API, on the shared live mission's organisation (Temporal dev server): with a
threshold set by the admin, a buyer's need above it waits for an approver; the task is in the approvers' inbox
(not the buyer's nor finance's), a buyer cannot approve it, an approver can (through the API or the portal's
form), and matching starts."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from api.deps import ACCESS_COOKIE
from api.web.core import CSRF_COOKIE, CSRF_FIELD
from cli.demo import need
from tests.api.live import LiveMission

pytestmark = [pytest.mark.db, pytest.mark.devserver]


async def _stage(live: LiveMission, mission_id: str, headers: dict[str, str], stage: str) -> dict[str, object]:
    for _ in range(200):
        detail = (await live.api.get(f"/missions/{mission_id}", headers=headers)).json()
        if detail["mission"]["stage"] == stage:
            return dict(detail)
        await asyncio.sleep(0.05)
    raise AssertionError(f"the mission stayed in {detail['mission']['stage']}, not {stage}")


async def _portal(
    live: LiveMission, role: str, method: str, path: str, form: dict[str, str] | None = None
) -> httpx.Response:
    """A portal request with the party's cookie (and the CSRF token for a form)."""
    live.api.cookies.clear()
    csrf = (await live.api.get("/portal/login")).cookies.get(CSRF_COOKIE)
    live.api.cookies.clear()
    cookie = f"{CSRF_COOKIE}={csrf}; {ACCESS_COOKIE}={live.tokens[role]}"
    if method == "GET":
        return await live.api.get(path, headers={"Cookie": cookie})
    return await live.api.post(path, data={CSRF_FIELD: csrf or "", **(form or {})}, headers={"Cookie": cookie})


async def test_a_need_above_the_threshold_waits_for_an_approver(live_mission: LiveMission) -> None:
    live = live_mission
    admin, buyer = live.parties["client_a"].headers, live.parties["client_buyer"].headers
    approver, finance = live.parties["client_approver"].headers, live.parties["client_finance"].headers
    # 30000 USD is about 27650 EUR: the need asks 1100 EUR x 30 days = 33000 EUR, above it
    threshold = {"approval_threshold": "30000.00", "currency": "USD"}
    assert (await live.api.put("/org/settings", json=threshold, headers=admin)).status_code == 200
    try:
        created = await live.api.post("/missions", json=need(), headers=buyer)
    finally:
        await live.api.put("/org/settings", json={"approval_threshold": None}, headers=admin)
    assert created.status_code == 201, created.text
    mission_id = created.json()["mission_id"]
    await _stage(live, mission_id, buyer, "approval")

    def approvals(tasks: list[dict[str, str]]) -> list[str]:
        return [t["action"] for t in tasks if t["mission_id"] == mission_id]

    assert approvals((await live.api.get("/tasks", headers=approver)).json()) == ["approve_budget"]
    assert approvals((await live.api.get("/tasks", headers=admin)).json()) == ["approve_budget"]
    assert approvals((await live.api.get("/tasks", headers=buyer)).json()) == []
    assert approvals((await live.api.get("/tasks", headers=finance)).json()) == []
    for headers, shown in ((approver, ["approve_budget"]), (buyer, []), (finance, [])):  # the mission's own tasks
        detail = (await live.api.get(f"/missions/{mission_id}", headers=headers)).json()
        assert [t["action"] for t in detail["open_tasks"]] == shown

    base = f"/missions/{mission_id}/approval"
    refused = await live.api.post(f"{base}/approve", json={}, headers=buyer)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "only the organisation's admin or approver can approve the need's budget"
    short = await live.api.post(f"{base}/reject", json={"reason": "no"}, headers=approver)
    assert short.status_code == 422 and "reason" in short.text

    # rejected: the buyer revises the need (the mission's page has the form, filled in), and it waits again
    rejected = await live.api.post(f"{base}/reject", json={"reason": "too expensive"}, headers=approver)
    assert rejected.status_code == 200 and rejected.json()["stage"] == "need"
    page = (await _portal(live, "client_buyer", "GET", f"/portal/missions/{mission_id}")).text
    assert f"/portal/missions/{mission_id}/act/revise_need" in page and "Budget not approved: too expensive" in page
    assert 'value="1100.00"' in page, "the form shows the need as it is"
    revised = await live.api.post(f"/missions/{mission_id}/need", json={"need": need()}, headers=buyer)
    assert revised.status_code == 200 and revised.json()["stage"] == "approval", revised.text

    # the portal: the approver's inbox carries the approval's forms (the buyer's does not), which approve it
    form = f"/portal/missions/{mission_id}/act/approve_budget"
    assert form in (await _portal(live, "client_approver", "GET", "/portal/inbox")).text
    assert form not in (await _portal(live, "client_buyer", "GET", "/portal/inbox")).text
    assert form in (await _portal(live, "client_approver", "GET", f"/portal/missions/{mission_id}")).text
    approved = await _portal(live, "client_approver", "POST", form, {"reason": "within the year's plan"})
    assert approved.status_code == 303, approved.text
    state = (await live.api.get(f"/missions/{mission_id}/state", headers=approver)).json()
    assert state["approved_budget"] == {"amount": "33000.00", "currency": "EUR"}
    for _ in range(200):  # matching starts (whether the shared directory has experts for it is not this test's)
        detail = (await live.api.get(f"/missions/{mission_id}", headers=buyer)).json()
        kinds = [e["kind"] for e in detail["timeline"]]
        if len(kinds) >= 5:
            break
        await asyncio.sleep(0.05)
    assert kinds[:5] == ["need_submitted", "stage:approval", "stage:need", "stage:approval", "stage:shortlist"]
    again = await live.api.post(f"{base}/approve", json={}, headers=approver)
    assert again.status_code == 409
    assert again.json()["detail"].startswith("cannot approve the budget while the mission is in")
    await live.api.post(f"/missions/{mission_id}/cancel", json={"reason": "test over"}, headers=buyer)
