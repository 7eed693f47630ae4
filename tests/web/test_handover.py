"""A handover in the browser, on the real stack: ops hand a mission's undelivered milestone over to another expert
from the ops mission page; the client then the new expert read the amendment in the page and sign it with their
authenticator; everyone then sees it in force, and the new expert gets the milestone to deliver. The mission is
brought to its delivery, the first milestone invoiced, through the HTTP API (as `innot demo` does)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import httpx
import pyotp
import pytest
from playwright.sync_api import BrowserContext

from cli.demo import PASSWORD, Party
from tests.api.live import to_first_invoice
from tests.web.conftest import Stack, contract_through_the_api, create_ops_user, shot
from tests.web.steps import enrol_authenticator, flash_ok, log_in, until

pytestmark = [pytest.mark.db, pytest.mark.devserver, pytest.mark.slow]


async def _in_delivery(stack: Stack, var: Path) -> tuple[str, Party, Party, Party]:
    """A mission in delivery, its first milestone invoiced: (mission id, client, its expert, a losing candidate)."""
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as api:
        demo, competition = await contract_through_the_api(stack, api, var)
        client, chosen, other = competition.client, competition.experts[0], competition.experts[1]
        await to_first_invoice(demo, client, chosen)
        return demo.mission_id, client, chosen, other


def _login_code(party: Party) -> str:
    """The code the party's authenticator shows next: a login takes a code of a step not used for a login yet, and
    the API logged the party in a moment ago (the next step is accepted for clock drift)."""
    assert party.totp_secret is not None
    return pyotp.TOTP(party.totp_secret).at(time.time() + 30)


def test_a_handover_is_asked_by_ops_and_signed_in_the_portal(
    new_context: Callable[..., BrowserContext], stack: Stack, tmp_path: Path
) -> None:
    with ThreadPoolExecutor(1) as setup:  # Playwright's sync API runs an event loop in this thread
        mission_id, client, old, new = setup.submit(asyncio.run, _in_delivery(stack, tmp_path)).result()
    ops = new_context().new_page()
    log_in(ops, create_ops_user(stack.sessions))
    enrol_authenticator(ops)

    ops.goto(f"/portal/ops/missions/{mission_id}")
    assert ops.get_by_label("Replace expert").input_value() == old.member_id
    assert ops.locator(f"#ra-takers option[value='{new.member_id}']").count() == 1, "offered by the directory"
    ops.get_by_label("By expert (id)").fill(new.member_id)
    ops.get_by_label("New due date of the milestones handed over (optional)").fill(
        (date.today() + timedelta(days=45)).isoformat()
    )
    ops.locator("#r-reassign").fill("the expert is on long sick leave")
    ops.get_by_role("button", name="Reassign the expert").click()
    flash_ok(ops)
    shot(ops, "ops-handover-asked")

    page, pages = f"/portal/missions/{mission_id}", {}
    for party in (client, new):
        browser = pages[party.email] = new_context().new_page()
        log_in(browser, party.email, PASSWORD, otp=_login_code(party))
        browser.goto(page)
        section = browser.locator("[data-amendment='1']")
        until(browser, lambda: section.locator("form.sign-form").count() == 1, what="the amendment to sign")  # noqa: B023
        assert section.get_attribute("data-milestones") == "2" and section.get_attribute("data-state") == "signing"
        assert section.locator("a[data-document='amendment-1']").count() == 1, "the PDF to read before signing"
        form = section.locator("form.sign-form")
        form.locator("input[name=otp]").fill(party.otp())  # the experts read the portal in French
        form.locator("button[type=submit]").click()
        flash_ok(browser)
        shot(browser, f"handover-signed-by-{'client' if party is client else 'new-expert'}")

    expert = pages[new.email]
    expert.goto(page)
    in_force = expert.locator("[data-amendment='1'][data-state='in_force']")
    until(expert, lambda: in_force.count() == 1, what="the amendment in force")
    assert in_force.locator("[data-sealed]").count() == 1, "sealed by the platform"
    expert.goto("/portal/inbox")
    deliver = expert.locator(f"form[action='{page}/milestones/2/deliverable']")
    until(expert, lambda: deliver.count() == 1, what="milestone 2 to deliver")
    shot(expert, "handover-new-expert-inbox")

    former = new_context().new_page()
    log_in(former, old.email, PASSWORD, otp=_login_code(old))
    former.goto(page)
    assert former.locator("[data-amendment='1'][data-state='in_force']").count() == 1
    assert former.locator("[action*='/milestones/2/']").count() == 0, "milestone 2 is no longer theirs"
