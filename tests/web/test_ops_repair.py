"""An ops session in the browser, on the real stack: a milestone parked because its expert's VAT number went
missing is found in the needs-attention queue with its reason; ops fix the expert's tax identifier (a wrong one
refused first), retry it through a batch after the dry-run count, and extend its payment deadline. The mission is
brought to the milestone's review through the HTTP API (as `innot demo` does), then broken by a bad data fix."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext
from sqlalchemy import update

from cli.demo import _ok
from store.db import transaction
from store.models.community import Expert
from tests.web.conftest import Stack, contract_through_the_api, create_ops_user, shot
from tests.web.steps import enrol_authenticator, flash_ok, has, log_in, until

pytestmark = [pytest.mark.db, pytest.mark.devserver, pytest.mark.slow]


async def _parked_milestone(stack: Stack, var: Path) -> tuple[str, str, str]:
    """A mission whose first milestone was accepted after its expert's VAT number was wiped: its invoice cannot be
    issued and the milestone waits for a repair. (mission id, client organisation id, expert id)"""
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as api:
        demo, competition = await contract_through_the_api(stack, api, var)
        client, chosen = competition.client, competition.experts[0]
        base = f"/missions/{demo.mission_id}"
        for party in (client, chosen):
            view = await demo.wait_action(party, "sign_contract", "the contract")
            body = {"expected_sha256": view["contract"]["document"]["sha256"], "otp": party.otp()}
            await _ok(api.post(f"{base}/contract/sign", json=body, headers=party.headers))
        await demo.wait_action(chosen, "submit_deliverable", "milestone 1 to deliver", 1)
        files = {"file": ("livrable-1.pdf", b"%PDF-1.4\n% milestone 1\n", "application/pdf")}
        await _ok(api.post(f"{base}/milestones/1/deliverable", files=files, headers=chosen.headers))
        await demo.wait_action(client, "review_deliverable", "milestone 1 to review", 1)
        with transaction(stack.sessions) as session:
            session.execute(update(Expert).where(Expert.id == uuid.UUID(chosen.member_id)).values(vat_number=None))
        await _ok(api.post(f"{base}/milestones/1/accept", json={}, headers=client.headers))
        return demo.mission_id, client.member_id, chosen.member_id


def test_ops_repair_a_parked_milestone_in_the_browser(
    new_context: Callable[..., BrowserContext], stack: Stack, tmp_path: Path
) -> None:
    with ThreadPoolExecutor(1) as setup:  # Playwright's sync API runs an event loop in this thread
        mission_id, org_id, expert_id = setup.submit(asyncio.run, _parked_milestone(stack, tmp_path)).result()
    ops = new_context().new_page()
    log_in(ops, create_ops_user(stack.sessions))
    enrol_authenticator(ops)  # ops pages open only then

    # find the parked milestone, with its reason, in the needs-attention queue
    ops.goto("/portal/ops/attention")
    row = ops.locator("#parked tbody tr", has=ops.locator(f"a[href='/portal/ops/missions/{mission_id}']"))
    until(ops, lambda: row.count() == 1, what="the parked milestone in the queue")
    assert "a VAT-registered seller must have a VAT number" in row.inner_text()
    assert row.locator("td").nth(1).inner_text() == "1", "the milestone's number"
    shot(ops, "ops-attention-parked-milestone")

    # fix the expert's tax identifier: a wrong number is refused with the field named, then the right one
    row.get_by_role("link", name="Expert").click()
    ops.wait_for_url(f"**/portal/ops/parties/experts/{expert_id}/legal")
    assert "a VAT-registered seller must have a VAT number" in ops.locator("#lp-h + ul").inner_text()
    ops.get_by_label("VAT number").fill("FR12345678901")
    ops.locator("#l-reason").fill("number sent by the expert")
    ops.get_by_label("Then resume this party's missions and milestones waiting for a repair").uncheck()
    ops.get_by_role("button", name="Save").click()
    assert "vat_number" in ops.locator(".flash-error").inner_text()
    ops.get_by_label("VAT number").fill("FR 44 732 829 320")
    ops.locator("#l-reason").fill("number sent by the expert")
    ops.get_by_label("Then resume this party's missions and milestones waiting for a repair").uncheck()
    ops.get_by_role("button", name="Save").click()
    flash_ok(ops)
    assert "Saved as version 2." in ops.locator(".flash").inner_text()
    assert ops.get_by_label("VAT number").input_value() == "FR44732829320"
    assert "vat_number" in ops.locator("#lv-h + ol").inner_text()
    shot(ops, "ops-legal-data-fixed")

    # batch retry: the dry-run count first, then the action on what it counted
    ops.goto("/portal/ops/batch")
    query = f'MissionStage = "milestone:needs_attention" AND ClientOrg = "{org_id}"'
    ops.get_by_label("Search-attribute query").fill(query)
    ops.get_by_role("button", name="Count (dry run)").click()
    until(ops, lambda: "1 workflows match" in ops.locator("#batch-count").inner_text(), what="the count")
    ops.get_by_label("Action").select_option("resume")
    ops.locator("#b-reason").fill("VAT number fixed")
    shot(ops, "ops-batch-dry-run")
    ops.get_by_role("button", name="Apply to 1 workflows").click()
    assert "1 done, 0 refused, of 1 matched." in ops.locator("#batch-result").inner_text()
    assert f"mission:{mission_id}:milestone:1: done" in ops.inner_text("main")
    shot(ops, "ops-batch-result")

    # the milestone got its invoice; extend its payment deadline
    ops.goto(f"/portal/ops/missions/{mission_id}")
    payment = ops.locator("#x-key option[value='1|payment']")
    until(ops, lambda: payment.count() == 1, what="the milestone's payment deadline")
    new_due = (datetime.now(UTC) + timedelta(days=75)).replace(second=0, microsecond=0)
    ops.locator("#x-key").select_option("1|payment")
    ops.locator("#x-due").fill(new_due.strftime("%Y-%m-%dT%H:%M"))
    ops.locator("#r-extend").fill("payment plan agreed with the client")
    ops.get_by_role("button", name="Extend a deadline").click()
    flash_ok(ops)
    assert new_due.strftime("%Y-%m-%d %H:%M") in ops.locator("#x-key option[value='1|payment']").inner_text()
    audit = ops.locator("ul.audit").inner_text()
    assert "payment plan agreed with the client" in audit and "VAT number fixed" in audit
    shot(ops, "ops-mission-after-repair")
    ops.goto("/portal/ops/attention")
    assert ops.locator(f"#parked a[href='/portal/ops/missions/{mission_id}']").count() == 0
    assert has(ops, "#parked")()
