"""One client organisation's pages never show another organisation's mission; an expert's pages never show the
other candidates of a mission, nor, to one removed from its shortlist, the mission at all."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext

from api.web.pickers import PICKERS
from cli.demo import PASSWORD as DEMO_PASSWORD
from cli.demo import Demo, Party
from tests.api.live import LOSER, NAMES, REMOVED, register_competition, secrets_of, to_contract, to_first_invoice
from tests.web.conftest import Stack, activate, unique_email
from tests.web.steps import log_in, post_need, register_client, verify_email

pytestmark = [pytest.mark.db, pytest.mark.devserver]


def test_a_client_never_sees_another_clients_mission(new_context: Callable[..., BrowserContext], stack: Stack) -> None:
    alice, bob = new_context().new_page(), new_context().new_page()
    alice_email, bob_email = unique_email("alice"), unique_email("bob")
    register_client(alice, alice_email, organisation="Alpha Industrie SAS")
    register_client(bob, bob_email, organisation="Beta Logistique SAS")
    activate(stack.sessions, alice_email)
    activate(stack.sessions, bob_email)
    verify_email(alice, stack.outbox, alice_email)
    verify_email(bob, stack.outbox, bob_email)
    alice_mission = post_need(alice, "Alpha secret turnaround plan", function="Legal", skills=("Company law",))
    bob_mission = post_need(bob, "Beta warehouse audit", function="Legal", skills=("Company law",))

    bob.goto("/portal/missions")
    assert "Beta warehouse audit" in bob.inner_text("main")
    assert "Alpha secret turnaround plan" not in bob.inner_text("main")
    bob.goto("/portal/inbox")
    assert "Alpha" not in bob.inner_text("main")

    response = bob.goto(alice_mission)
    assert response is not None and response.status == 404
    assert "Alpha secret turnaround plan" not in bob.content()
    assert "Mission not found" in bob.inner_text("main")
    for path in ("/documents/00000000-0000-0000-0000-000000000000", "/act/cancel"):
        if path.startswith("/act"):
            answer = bob.request.post(alice_mission + path, form={"reason": "not mine"})
            assert answer.status == 403, "no CSRF token: refused before anything else"
        else:
            assert bob.request.get(alice_mission + path).status == 404

    alice.goto(alice_mission)
    assert alice.get_by_role("heading", name="Alpha secret turnaround plan").is_visible()
    assert alice.goto(bob_mission) is not None and "Beta warehouse audit" not in alice.content()


def _competition(stack: Stack, out: Path) -> tuple[str, dict[str, Party], dict[str, set[str]]]:
    """Over the stack's HTTP API: three candidates invite, accept and propose (one more removed from the shortlist),
    the first is selected, both sign, the first milestone is delivered, accepted and invoiced. The workflows run on
    the stack's own loop; this setup runs on a loop of its own, in a thread (the browser's API is synchronous)."""

    async def run() -> tuple[str, dict[str, Party], dict[str, set[str]]]:
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as api:
            tag = uuid.uuid4().hex[:8]
            competition = await register_competition(api, tag, stack.outbox)
            client, experts = competition.client, competition.experts
            everyone = [client, *experts, competition.removed]
            for party in everyone:
                activate(stack.sessions, party.email)
            demo = Demo(api, console=None, out=out)  # type: ignore[arg-type]
            await to_contract(demo, competition)
            await to_first_invoice(demo, client, experts[0])
            parties = dict(zip(["client_a", *NAMES], everyone, strict=True))
            return demo.mission_id, parties, await secrets_of(api, demo.mission_id, parties)

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


def test_a_losing_candidate_sees_nothing_of_the_competition(
    new_context: Callable[..., BrowserContext], stack: Stack, tmp_path: Path
) -> None:
    mission_id, parties, secrets = _competition(stack, tmp_path)
    loser = new_context().new_page()
    log_in(loser, parties[LOSER].email, DEMO_PASSWORD, parties[LOSER].recovery_codes.pop())  # a code used once
    loser.goto(f"/portal/missions/{mission_id}")
    proposal = loser.locator(".proposal").inner_text()
    assert PICKERS["fr"].money("9500", "EUR") in proposal and "Diagnostic Beta" in proposal, "their own proposal"
    assert loser.locator(".proposal").count() == 1
    assert loser.locator("#ct-h, #ms-h, #docs-h").count() == 0, "no contract, milestones or documents"
    for path in (f"/portal/missions/{mission_id}", "/portal/missions", "/portal/inbox"):
        loser.goto(path)
        shown = loser.content()
        assert not [s for s in secrets[LOSER] if s in shown], path

    removed = new_context().new_page()
    log_in(removed, parties[REMOVED].email, DEMO_PASSWORD, parties[REMOVED].recovery_codes.pop())
    response = removed.goto(f"/portal/missions/{mission_id}")
    assert response is not None and response.status == 404
    for path in (f"/portal/missions/{mission_id}", "/portal/missions", "/portal/inbox"):
        removed.goto(path)
        shown = removed.content().replace(mission_id, "<the id they asked for>")
        assert not [s for s in secrets[REMOVED] if s in shown], path
