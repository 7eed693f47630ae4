"""Acceptance, over the API on the Temporal dev server with the real workers: a client searches the directory,
puts the expert they chose on the mission's shortlist (a client pick), the mission runs to closed with that expert,
and the ratings stay hidden from the other party until both are in; then they count in the reputations, the
expert answers the client's, and the transparency page's exposure figures come from the shortlist really shown."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from api.deps import ACCESS_COOKIE
from cli.demo import PASSWORD, Demo, Party, _ok, _until, need, open_account, pay_fees, proposal
from tests.api.conftest import expert_registration
from tests.api.live import live_stack, register_competition

pytestmark = [pytest.mark.db, pytest.mark.devserver]


async def _register_chosen(stack_api: httpx.AsyncClient, tag: str, word: str, outbox: Any) -> Party:
    """An HR expert no finance need would match (German only), whom the client will find by a word of her
    portfolio."""
    chosen = Party(f"zoe.{tag}@chosen-expert.example")
    payload = expert_registration(
        chosen.email, display_name="Zoé Choisie", legal_name="Zoé Choisie Conseil", languages=["de"],
        business_functions=["hr"], skills=["payroll"], available_from=date.today().isoformat(),
    )  # fmt: skip
    payload["account"] |= {"password": PASSWORD, "full_name": "Zoé Choisie"}
    chosen.member_id = (await _ok(stack_api.post("/auth/register/expert", json=payload), 201))["member_id"]
    await open_account(stack_api, chosen, outbox)
    profile = {
        "headline": "Payroll and HR systems",
        "skill_levels": {"payroll": "expert"},
        "portfolio": [{"title": "Payroll migration", "description": f"Payroll of 4,000 people moved to {word}"}],
        "public_fields": ["headline", "skills", "languages", "portfolio", "rate"],
    }
    await _ok(stack_api.patch("/experts/profile", json=profile, headers=chosen.headers))
    return chosen


def portal_cookie(party: Party) -> dict[str, str]:
    return {"Cookie": f"{ACCESS_COOKIE}={party.headers['Authorization'].removeprefix('Bearer ')}"}


async def deliver_and_pay(demo: Demo, client: Party, expert: Party, number: int) -> None:
    base, post = f"/missions/{demo.mission_id}/milestones/{number}", demo.api.post
    await demo.wait_action(expert, "submit_deliverable", f"milestone {number} to deliver", number)
    files = {"file": (f"livrable-{number}.pdf", b"%PDF-1.4\n% deliverable\n", "application/pdf")}
    await _ok(post(f"{base}/deliverable", files=files, headers=expert.headers))
    await demo.wait_action(client, "review_deliverable", f"milestone {number} to review", number)
    await _ok(post(f"{base}/accept", json={}, headers=client.headers))
    await demo.wait_action(client, "confirm_payment", f"the invoice of milestone {number}", number)
    paid = {"paid_on": date.today().isoformat(), "reference": f"VIR-{number}"}
    await _ok(post(f"{base}/payment", json=paid, headers=client.headers))


async def test_a_client_picks_an_expert_in_the_directory_and_the_mission_runs_to_closed(
    dev_server_env: WorkflowEnvironment, engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> None:
    async with live_stack(dev_server_env, engine, tmp_path_factory.mktemp("pick")) as stack:
        api, tag = stack.api, stack.tag
        word = "zp" + uuid.uuid4().hex[:8]
        competition = await register_competition(api, tag, stack.outbox)
        client = competition.client
        chosen = await _register_chosen(api, tag, word, stack.outbox)
        await pay_fees(api, stack.ops, [client, *competition.experts, competition.removed, chosen])

        # the client searches the directory: by the words of the portfolio, a function, a skill and its level
        search = {"q": word, "function": "hr", "skill": "payroll", "min_level": "expert", "language": "de"}
        page = await _ok(api.get("/directory/experts", params=search, headers=client.headers))
        [card] = page["items"]
        assert card["id"] == chosen.member_id and card["display_name"] == "Zoé Choisie"
        assert card["available_from"] is None, "availability kept private"

        # a need the competition's experts match; the chosen expert does not (HR, German only)
        demo = Demo(api, console=None, out=tmp_path_factory.mktemp("pick-out"))  # type: ignore[arg-type]
        wanted = {**need(), "languages": competition.languages}
        demo.mission_id = (await _ok(api.post("/missions", json=wanted, headers=client.headers), 201))["mission_id"]
        base = f"/missions/{demo.mission_id}"
        view = await demo.wait_action(client, "review_shortlist", "the shortlist")
        matched = [c["expert_id"] for c in view["shortlist"]]
        assert chosen.member_id not in matched

        directory_page = {**search, "mission": demo.mission_id}
        portal = await api.get("/portal/directory", params=directory_page, headers=portal_cookie(client))
        assert portal.status_code == 200 and "Zoé Choisie" in portal.text
        assert f"/portal/missions/{demo.mission_id}/act/invite_expert" in portal.text

        view = await _ok(
            api.post(f"{base}/shortlist/invite", json={"expert_id": chosen.member_id}, headers=client.headers)
        )
        pick = view["shortlist"][-1]
        assert pick["expert_id"] == chosen.member_id and pick["picked_by_client"]
        assert pick["explanation_en"].startswith("Chosen by the client from the expert directory")
        again = await api.post(f"{base}/shortlist/invite", json={"expert_id": chosen.member_id}, headers=client.headers)
        assert again.status_code == 409 and "already" in again.text
        lapsed = await api.post(
            f"{base}/shortlist/invite", json={"expert_id": str(uuid.uuid4())}, headers=client.headers
        )
        assert lapsed.status_code == 409 and "expert_id" in lapsed.text
        detail = await _ok(api.get(base, headers=client.headers))
        assert "the client chose an expert from the directory" in [e["summary"] for e in detail["timeline"]]

        # only the pick is invited: the matched candidates are removed from the shortlist
        await _ok(api.post(f"{base}/shortlist/remove", json={"remove_expert_ids": matched}, headers=client.headers))
        await _ok(api.post(f"{base}/invitations/start", json={}, headers=client.headers))
        await demo.wait_action(chosen, "answer_invitation", "the invitation")
        await _ok(api.post(f"{base}/invitation/accept", json={}, headers=chosen.headers))
        await demo.wait_action(chosen, "submit_proposal", "the proposal window")
        offer = proposal("800.00")
        await _ok(api.post(f"{base}/proposal", json=offer, headers=chosen.headers))
        await demo.wait_action(client, "select_proposal", "the proposals to compare")
        await _ok(api.post(f"{base}/proposals/select", json={"expert_id": chosen.member_id}, headers=client.headers))
        for party in (client, chosen):
            view = await demo.wait_action(party, "sign_contract", "the contract")
            body = {"expected_sha256": view["contract"]["document"]["sha256"], "otp": party.otp()}
            await _ok(api.post(f"{base}/contract/sign", json=body, headers=party.headers))

        # signed: the directory shows her busy until the last milestone is due
        last_due = date.fromisoformat(offer["terms"]["milestones"][-1]["due_date"])

        async def busy() -> bool:
            profile = await _ok(api.get("/experts/profile", headers=chosen.headers))
            return profile["available_from"] == (last_due + timedelta(days=1)).isoformat()

        await _until("the availability to follow the signature", busy)
        for number in (1, 2):
            await deliver_and_pay(demo, client, chosen, number)

        # double-blind ratings
        await demo.wait_action(client, "rate_expert", "the feedback window")
        await _ok(api.post(f"{base}/rating", json={"score": 4, "comment": "Solide"}, headers=client.headers))

        async def scores(party: Party) -> tuple[dict[str, int], dict[str, int]]:
            state = await _ok(api.get(f"{base}/state", headers=party.headers))
            read = await _ok(api.get(base, headers=party.headers))
            return {r["by"]: r["score"] for r in state["ratings"]}, {r["by"]: r["score"] for r in read["ratings"]}

        assert await scores(client) == ({"client": 4}, {"client": 4}), "one's own rating"
        assert await scores(chosen) == ({}, {}), "hidden until both rated"
        page = (await api.get(f"/portal{base}", headers=portal_cookie(chosen))).text
        assert "double-blind" in page and "Solide" not in page, "nor on the portal"
        for party in (client, chosen):
            timeline = (await _ok(api.get(base, headers=party.headers)))["timeline"]
            assert not [e for e in timeline if "4/5" in e["summary"]], "the timeline tells no score yet"
        profile = await _ok(api.get(f"/directory/experts/{chosen.member_id}", headers=client.headers))
        assert profile["reputation"]["ratings_count"] == 0, "nor the reputation"

        await demo.wait_action(chosen, "rate_client", "the feedback window")
        await _ok(api.post(f"{base}/rating", json={"score": 5}, headers=chosen.headers))

        async def revealed() -> bool:
            return await scores(chosen) == ({"client": 4, "expert": 5}, {"client": 4, "expert": 5})

        await _until("the ratings to be revealed", revealed)
        timeline = (await _ok(api.get(base, headers=chosen.headers)))["timeline"]
        assert "ratings revealed: client rated 4/5, expert rated 5/5" in [e["summary"] for e in timeline]
        page = (await api.get(f"/portal{base}", headers=portal_cookie(chosen))).text
        assert "Solide" in page and f"/portal{base}/act/answer_rating" in page
        answer = {"reply": "Merci, une équipe paie très bien organisée"}
        await _ok(api.post(f"{base}/rating/answer", json=answer, headers=chosen.headers))
        twice = await api.post(f"{base}/rating/answer", json=answer, headers=chosen.headers)
        assert twice.status_code == 409 and "once" in twice.text

        async def closed() -> dict[str, Any] | None:
            read: dict[str, Any] = await _ok(api.get(base, headers=client.headers))
            return read if read["mission"]["stage"] == "closed" else None

        read = await _until("the mission to close", closed)
        page = (await api.get(f"/portal{base}", headers=portal_cookie(client))).text
        assert answer["reply"] in page and f"/portal{base}/act/answer_rating" in page, "the client may answer too"
        assert [r["reply"] for r in read["ratings"] if r["by"] == "client"] == [answer["reply"]]
        profile = await _ok(api.get(f"/directory/experts/{chosen.member_id}", headers=client.headers))
        assert profile["reputation"] == {"rating": "4.00", "ratings_count": 1, "completed_missions": 1}
        mine = await _ok(api.get("/experts/profile", headers=chosen.headers))
        assert mine["available_from"] == date.today().isoformat(), "the mission's end frees her"

        # the shortlist the client was shown counts for fair exposure, on the transparency page
        exposure = await _ok(api.get("/public/exposure"))
        assert exposure["shortlists"] >= 1 and exposure["experts_shown"] >= len(matched)
        page = (await api.get("/transparency")).text
        assert f"data-gini>{exposure['gini']:.3f}" in page
