"""The in-app feed through the browser, on the real stack: a notice a workflow emits shows as a count in the header
of every page, opening it leads to its task and marks it read, only its recipient sees it, and the e-mail
preferences chosen on their page are kept."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.web.conftest import Stack, activate, unique_email
from tests.web.steps import flash_ok, post_need, register_client, register_expert, until, verify_email

pytestmark = [pytest.mark.db, pytest.mark.devserver, pytest.mark.slow]


def unread(page: Page) -> int:
    badge = page.locator("header [data-unread-count]")
    return int(badge.inner_text()) if badge.count() else 0


def test_a_notice_shows_in_the_header_opens_its_task_and_preferences_persist(
    new_context: Callable[..., BrowserContext], stack: Stack
) -> None:
    client, expert = new_context().new_page(), new_context().new_page()
    email, expert_email = unique_email("claire"), unique_email("jean")
    register_expert(expert, expert_email)
    activate(stack.sessions, expert_email)
    register_client(client, email)
    activate(stack.sessions, email)
    verify_email(client, stack.outbox, email)
    assert unread(client) == 0

    mission = post_need(client, "Treasury forecast overhaul")
    # the shortlist opens a task for the client: the workflow tells them, and every page's header counts it
    until(client, lambda: unread(client) >= 1, what="the shortlist notice in the header")
    client.goto("/portal/inbox")
    assert unread(client) >= 1, "the count is in the header of every page"
    before = unread(client)

    client.locator("header [data-notifications]").click()
    notice = client.locator("li.notice", has_text="Your shortlist for “Treasury forecast overhaul” is ready")
    assert notice.count() == 1 and notice.get_attribute("data-read") == "no"
    notice_id = notice.get_attribute("data-notice")
    notice.get_by_role("button").click()
    client.wait_for_url(f"**{mission}")
    assert client.get_by_role("button", name="Send the invitations").count() == 1, "the task is on the page"
    assert unread(client) == before - 1
    client.goto("/portal/notifications")
    assert client.locator(f"li[data-notice='{notice_id}']").get_attribute("data-read") == "yes"

    # another person neither sees the notice nor can mark it
    other = new_context().new_page()
    other_email = unique_email("bob")
    register_client(other, other_email, organisation="Other Corp SAS")
    other.goto("/portal/notifications")
    assert other.locator(f"li[data-notice='{notice_id}']").count() == 0
    assert "Treasury forecast overhaul" not in other.inner_text("main")

    # e-mail preferences per kind, kept; legal kinds listed as always on, with nothing to switch
    client.goto("/portal/notifications/preferences")
    assert client.locator("select#mode-sign_contract").count() == 0, "a legal notice cannot be switched off"
    assert "A contract to sign — always on" in client.locator("[data-legal-kinds]").inner_text()
    client.get_by_label("Reminders").select_option("digest")
    client.get_by_label("Something for me to do").select_option("off")
    client.get_by_role("button", name="Save").click()
    flash_ok(client)
    client.reload()
    assert client.get_by_label("Reminders").input_value() == "digest"
    assert client.get_by_label("Something for me to do").input_value() == "off"
    assert client.get_by_label("Invitations").input_value() == "immediate"

    client.goto("/portal/notifications")
    if unread(client):
        client.get_by_role("button", name="Mark all as read").click()
        flash_ok(client)
    assert unread(client) == 0
    assert client.locator("li.notice[data-read='no']").count() == 0
