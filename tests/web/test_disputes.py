"""A dispute with its evidence, in the browser, on the real stack: the expert of a signed mission opens a dispute on
its first milestone from the mission page, with a PDF attached (a file the platform does not accept is refused first,
named, and nothing is opened); the client finds the dispute and its evidence on the same page, downloads the PDF
(the very bytes the expert sent) and answers with a file of its own, which the expert downloads in turn. The mission
is brought to its first invoice through the HTTP API (as `innot demo` does)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page

from api.web.i18n import LANG_COOKIE
from cli.demo import PASSWORD, Party
from tests.api.live import to_first_invoice
from tests.documents.test_uploads import windows_executable
from tests.web.conftest import Stack, contract_through_the_api, shot
from tests.web.steps import flash_ok, has, log_in, until
from tests.web.test_accessibility import AXE, INSPECT

pytestmark = [pytest.mark.db, pytest.mark.devserver, pytest.mark.slow]

MINUTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n% minutes of the acceptance meeting: the client agreed to pay\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
STATEMENT = "The client does not pay the first milestone, accepted and invoiced."
REMINDER = b"Milestone 1: the deliverable misses the reconciliations promised in the proposal; payment withheld.\n"


async def _mission(stack: Stack, var: Path) -> tuple[str, Party, Party]:
    """A mission in delivery, its first milestone accepted and invoiced: (mission id, client, its expert)."""
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as api:
        demo, competition = await contract_through_the_api(stack, api, var)
        client, chosen = competition.client, competition.experts[0]
        await to_first_invoice(demo, client, chosen)
        return demo.mission_id, client, chosen


def _logged_in(new_context: Callable[..., BrowserContext], stack: Stack, party: Party) -> Page:
    """The party's browser, in English (the demo parties chose French), logged in with a recovery code."""
    context = new_context()
    context.add_cookies([{"name": LANG_COOKIE, "value": "en", "url": stack.base_url}])
    page = context.new_page()
    log_in(page, party.email, PASSWORD, otp=party.recovery_codes.pop())
    page.wait_for_url(lambda url: "/portal/login" not in url)
    flash_ok(page)
    return page


def _download(page: Page, link_text: str) -> tuple[str, bytes]:
    with page.expect_download() as download:
        page.locator("a[data-evidence]", has_text=link_text).click()
    return download.value.suggested_filename, download.value.path().read_bytes()


def test_a_party_opens_a_dispute_with_evidence_and_the_other_downloads_it(
    new_context: Callable[..., BrowserContext], stack: Stack, tmp_path: Path
) -> None:
    with ThreadPoolExecutor(1) as setup:  # Playwright's sync API runs an event loop in this thread
        mission_id, client_party, expert_party = setup.submit(asyncio.run, _mission(stack, tmp_path)).result()
    mission = f"/portal/missions/{mission_id}"
    expert = _logged_in(new_context, stack, expert_party)
    expert.goto(mission)
    dispute = expert.locator("section[aria-labelledby=dispute-h]")

    # a file that is not what its name says is refused, named, and no dispute is opened with the good one alone
    dispute.get_by_label("Milestones and deliverables").select_option("1")
    dispute.get_by_label("Your statement").fill(STATEMENT)
    dispute.get_by_label("Evidence files (optional)").set_input_files(
        [
            {"name": "minutes.pdf", "mimeType": "application/pdf", "buffer": MINUTES},
            {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": windows_executable()},
        ]
    )
    dispute.get_by_role("button", name="Open a dispute").click()
    error = expert.locator(".flash-error").inner_text()
    assert "“scan.pdf” was not accepted: its content is application/x-msdownload (.exe)" in error, error
    assert "Nothing was sent" in error
    assert dispute.locator("article.dispute").count() == 0, "no dispute opened with half the evidence"
    assert dispute.get_by_role("button", name="Open a dispute").count() == 1

    dispute.get_by_label("Milestones and deliverables").select_option("1")
    dispute.get_by_label("Your statement").fill(STATEMENT)
    dispute.get_by_label("Evidence files (optional)").set_input_files(
        [{"name": "minutes.pdf", "mimeType": "application/pdf", "buffer": MINUTES}]
    )
    dispute.get_by_role("button", name="Open a dispute").click()
    flash_ok(expert)
    opened = expert.locator("article[data-dispute='1']")
    until(expert, lambda: opened.count() == 1, what="the dispute on the expert's page")
    assert STATEMENT in opened.inner_text()
    assert opened.get_by_role("list", name="The expert's evidence").get_by_role("link").all_inner_texts() == [
        "minutes.pdf"
    ]
    shot(expert, "expert-mission-dispute-opened")

    # the client sees the dispute and its evidence, downloads the very bytes the expert sent, and answers with its own
    client = _logged_in(new_context, stack, client_party)
    client.goto(mission)
    answer_form = client.locator("form:has(button:has-text('Answer the dispute'))")
    until(client, lambda: answer_form.count() == 1, what="the answer to the dispute")
    assert STATEMENT in client.locator("article.dispute").inner_text()
    name, data = _download(client, "minutes.pdf")
    assert (name, data) == ("minutes.pdf", MINUTES)
    client.add_script_tag(path=str(AXE))
    found = client.evaluate(INSPECT)
    assert not found["blocking"] and not found["unlabelled"], found
    answer_form.get_by_label("Your answer to the dispute").fill("Half of the deliverable is missing.")
    answer_form.get_by_label("Evidence files (optional)").set_input_files(
        [{"name": "reminder.txt", "mimeType": "text/plain", "buffer": REMINDER}]
    )
    answer_form.get_by_role("button", name="Answer the dispute").click()
    flash_ok(client)
    answered = client.get_by_role("list", name="The client's evidence")
    until(client, lambda: answered.count() == 1, what="the client's answer on its page")
    shot(client, "client-mission-dispute-answered")

    expert.goto(mission)
    until(expert, has(expert, 'ul[aria-label="The client\'s evidence"]'), what="the client's answer")
    assert "Half of the deliverable is missing." in expert.locator("article[data-dispute='1']").inner_text()
    assert _download(expert, "reminder.txt") == ("reminder.txt", REMINDER)
