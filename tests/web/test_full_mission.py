"""One whole mission through the browser, on the real stack: need, shortlist, invitation, proposal, selection,
signatures, delivery, acceptance, Factur-X invoice, ratings — and ops watching with an audited action."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import facturx
import pytest
from playwright.sync_api import BrowserContext, Page

from tests.web.conftest import Stack, activate, create_ops_user, shot, unique_email
from tests.web.steps import (
    enrol_authenticator,
    flash_ok,
    follow_mail,
    has,
    log_in,
    pick_skills,
    post_need,
    register_client,
    register_expert,
    sign_contract,
    until,
)

pytestmark = [pytest.mark.db, pytest.mark.devserver, pytest.mark.slow]

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _contracts_signed(page: Page) -> tuple[int, Decimal]:
    """What the transparency page counts of the mission contracts signed in EUR: how many, their total value."""
    page.goto("/transparency")
    table = "\n".join(page.locator("#ct-h ~ .table-wrap").all_inner_texts())
    rows = [line.split("\t") for line in table.splitlines()[1:]]  # period, community, count, total, currency
    ours = [r for r in rows if len(r) == 5 and r[1] == "mission" and r[4] == "EUR"]
    return sum(int(r[2]) for r in ours), sum((Decimal(r[3]) for r in ours), Decimal(0))


def test_a_mission_from_need_to_ratings_in_the_browser(
    new_context: Callable[..., BrowserContext], stack: Stack
) -> None:
    client, expert = new_context().new_page(), new_context().new_page()
    signed_before = _contracts_signed(client)
    client_email, expert_email = unique_email("claire"), unique_email("jean")
    register_client(client, client_email)
    register_expert(expert, expert_email)
    activate(stack.sessions, client_email)
    activate(stack.sessions, expert_email)
    # each reads the verification e-mail in the development mailbox and follows its link
    for page, email in ((client, client_email), (expert, expert_email)):
        follow_mail(page, email, "Confirm your e-mail address")
        page.get_by_role("button", name="Verify my address").click()
        flash_ok(page)
    client_app, expert_app = enrol_authenticator(client), enrol_authenticator(expert)

    # the profile, through the same pickers: one more skill (found by its French name typed without its accent)
    expert.goto("/portal/profile")
    pick_skills(expert, "Valuation", search="evaluation")
    expert.get_by_label("Languages you work in").select_option(label=["English", "French", "Spanish"])
    expert.get_by_role("button", name="Save").click()
    flash_ok(expert)
    assert expert.get_by_label("Valuation", exact=True).is_checked()
    assert expert.get_by_label("Management control", exact=True).is_checked(), "the skills chosen at registration"

    # skills found by a synonym (FP&A: management control), languages by their names, no key nor ISO code typed
    mission = post_need(client, "Monthly close redesign", search="FP&A")
    until(client, has(client, ".candidate"), what="the shortlist")
    candidate = client.locator(".candidate").first.inner_text()
    assert "Jean Dupont" in candidate and "Score" in candidate
    shot(client, "client-mission-shortlist")
    client.get_by_role("button", name="Send the invitations").click()
    flash_ok(client)

    # the invitation e-mail names the mission and its deadline; its link opens the mission, where the expert answers
    invitation = follow_mail(expert, expert_email, "You are invited to the mission “Monthly close redesign”")
    assert re.search(r"accept or decline before \d{1,2} \w+ \d{4}", invitation), invitation
    expert.wait_for_url(f"**{mission}")
    until(expert, has(expert, "button:has-text('Accept the invitation')"), what="the invitation")
    shot(expert, "expert-mission-invitation")
    expert.get_by_role("button", name="Accept the invitation").click()
    flash_ok(expert)
    expert.goto("/portal/inbox")
    until(expert, has(expert, "form.proposal-form"), what="the proposal task")
    form = expert.locator("form.proposal-form").first
    form.get_by_label("Approach").fill("Map the close, cut the manual journals, then automate the reconciliations.")
    form.get_by_label("Milestone title 1").fill("Diagnostic and new close calendar")
    form.get_by_label("Amount (excl. tax) 1").fill("4250.00")
    form.get_by_label("Due date 1").fill((date.today() + timedelta(days=30)).isoformat())
    shot(expert, "expert-inbox-proposal")
    form.get_by_role("button", name="Send my proposal").click()
    flash_ok(expert)

    client.goto(mission)
    until(client, has(client, "button:has-text('Select this proposal')"), what="the proposal to select")
    assert "€4,250.00" in client.locator(".side-by-side").inner_text(), "an amount as the reader writes it"
    tracker = client.locator(".tracker")
    assert tracker.locator("[aria-current=step]").inner_text().endswith("Proposals"), "where the mission is"
    assert "You: Select a proposal — by" in tracker.inner_text(), "who acts next, and by when"
    shot(client, "client-mission-proposals")
    client.get_by_role("button", name="Select this proposal").click()
    flash_ok(client)

    until(client, has(client, "button:has-text('Sign the contract')"), what="the contract to sign")
    shown = client.locator("[data-contract-hash]").inner_text()
    assert len(shown) == 64 and shown in client.locator("form:has(button:has-text('Sign the contract'))").inner_text()
    shot(client, "client-mission-contract")
    sign_contract(client, client_app)

    expert.goto("/portal/inbox")
    until(expert, has(expert, "button:has-text('Sign the contract')"), what="the expert's signature task")
    sign_contract(expert, expert_app)

    until(expert, has(expert, "input[type=file]"), what="the deliverable task", timeout=120)
    expert.locator("input[type=file]").set_input_files(
        {"name": "diagnostic.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    shot(expert, "expert-inbox-deliverable")
    expert.get_by_role("button", name="Upload the deliverable").click()
    flash_ok(expert)

    client.goto(mission)
    until(client, has(client, "button:has-text('Accept the deliverable')"), what="the deliverable to review")
    client.get_by_role("button", name="Accept the deliverable").click()
    flash_ok(client)

    until(client, has(client, "a[data-document=invoice]"), what="the invoice", timeout=120)
    with client.expect_download() as download:
        client.locator("a[data-document=invoice]").click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    filename, xml = facturx.get_xml_from_pdf(pdf, check_xsd=False)
    assert filename == "factur-x.xml" and b"4250.00" in xml

    # ops look at the mission and pause/resume it, with a reason that lands in the audit log
    ops = new_context().new_page()
    log_in(ops, create_ops_user(stack.sessions))
    enrol_authenticator(ops)  # ops pages open only then
    mission_id = mission.rsplit("/", 1)[-1]
    ops.goto(f"/portal/ops/missions/{mission_id}")
    assert ops.locator("table.history tbody tr").count() > 10
    ops.locator("#r-pause").fill("checking the invoice with the client")
    ops.get_by_role("button", name="Pause", exact=True).click()
    flash_ok(ops)
    ops.locator("#r-resume").fill("invoice checked")
    ops.get_by_role("button", name="Resume", exact=True).click()
    flash_ok(ops)
    audit = ops.locator("ul.audit").inner_text()
    assert "checking the invoice with the client" in audit and "invoice checked" in audit
    shot(ops, "ops-mission-inspection")
    ops.goto("/portal/ops/charts")
    shot(ops, "ops-charts-after-mission")

    until(client, has(client, "button:has-text('Send my rating')"), what="the feedback window")
    client.get_by_label("Comment").fill("Clear, fast, precise.")
    client.get_by_role("button", name="Send my rating").click()
    flash_ok(client)
    expert.goto("/portal/inbox")
    until(expert, has(expert, "button:has-text('Send my rating')"), what="the expert's rating task")
    expert.get_by_role("button", name="Send my rating").click()
    flash_ok(expert)

    client.goto(mission)
    until(client, lambda: client.locator("#fb-h + ul li").count() == 2, what="both ratings")
    assert "Clear, fast, precise." in client.inner_text("main")
    shot(client, "client-mission-feedback")
    expert.goto(mission)
    assert "Monthly close redesign" in expert.inner_text("main")
    shot(expert, "expert-mission")

    # the transparency page counts this contract among the others the stack's tests signed
    assert _contracts_signed(client) == (signed_before[0] + 1, signed_before[1] + Decimal("4250.00"))
    assert client.locator("[data-commission]").inner_text() == "0.00"
    shot(client, "transparency-after-mission")
