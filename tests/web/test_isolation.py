"""One client organisation's pages never show another organisation's mission."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext

from tests.web.conftest import Stack, activate, unique_email
from tests.web.steps import post_need, register_client, verify_email

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
    alice_mission = post_need(alice, "Alpha secret turnaround plan", function="legal", skills="company_law")
    bob_mission = post_need(bob, "Beta warehouse audit", function="legal", skills="company_law")

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
