"""What ops look at in the browser, on the real stack, before they decide: a new member's proof documents on its
review page (each opened through the API's audited read, the audit entry then shown there) before approving it; and
a mission's proposals side by side, as its client compares them, on the ops mission page."""

from __future__ import annotations

import asyncio
import struct
import uuid
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page
from sqlalchemy import select

from api.web.i18n import LANG_COOKIE
from api.web.pickers import PICKERS
from cli.demo import PASSWORD as DEMO_PASSWORD
from cli.demo import Party
from store.models.community import AuditEntry, User
from tests.web.conftest import Stack, contract_through_the_api, create_ops_user, shot, unique_email
from tests.web.steps import enrol_authenticator, flash_ok, log_in, register_client, until, verify_email
from tests.web.test_accessibility import AXE, INSPECT

pytestmark = [pytest.mark.db, pytest.mark.devserver]

# a registry extract of 2,300 bytes, and a scan of the articles of association (a 1x1 PNG)
KBIS = b"%PDF-1.4\n%" + b"k" * 2224 + b"\n1 0 obj<< /Type /Catalog >>endobj\ntrailer<< /Root 1 0 R >>\n%%EOF\n"


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixel = zlib.compress(b"\x00\xff\xff\xff")  # one white pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixel) + chunk(b"IEND", b"")


STATUTES = _png()


def accessible(page: Page) -> None:
    """No serious or critical axe-core violation, every field labelled, nothing wider than the screen."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(INSPECT)
    assert found["blocking"] == [] and found["unlabelled"] == [] and found["overflow"] <= 0, found


def _upload(page: Page, kind: str, name: str, mime: str, data: bytes) -> None:
    page.get_by_label("What it proves").select_option(kind)
    page.get_by_label("File").set_input_files({"name": name, "mimeType": mime, "buffer": data})
    page.get_by_role("button", name="Upload").click()
    flash_ok(page)


def test_ops_open_a_members_proofs_before_approving_it(
    new_context: Callable[..., BrowserContext], stack: Stack
) -> None:
    assert len(KBIS) == 2300
    # a new client organisation gives its proofs and submits its registration for review
    member = new_context().new_page()
    email, name = unique_email("proofs"), f"Preuves Industrie {uuid.uuid4().hex[:6]} SAS"
    register_client(member, email, organisation=name)
    verify_email(member, stack.outbox, email)
    member.goto("/portal/onboarding")
    _upload(member, "registry_extract", "kbis-2024.pdf", "application/pdf", KBIS)
    _upload(member, "other", "statuts.png", "image/png", STATUTES)
    member.get_by_role("button", name="Submit for review").click()
    flash_ok(member)
    with stack.sessions() as s:
        org_id = s.scalars(select(User.organisation_id).where(User.email == email)).one()

    # ops find it in the review queue and open its page: its proofs, what each proves, its size, when it came
    ops = new_context().new_page()
    ops_email = create_ops_user(stack.sessions)
    log_in(ops, ops_email)
    enrol_authenticator(ops)
    ops.goto("/portal/ops/members?status=awaiting_review")
    ops.get_by_role("link", name=name).click()
    ops.wait_for_url(f"**/portal/ops/members/{org_id}")
    assert ops.get_by_role("heading", level=1).inner_text() == name
    rows = ops.locator("#proofs tbody tr")
    assert rows.count() == 2
    kbis, statutes = (rows.filter(has=ops.get_by_role("link", name=file)) for file in ("kbis-2024.pdf", "statuts.png"))
    cells = kbis.locator("td").all_inner_texts()
    assert cells[0] == "kbis-2024.pdf\napplication/pdf" and cells[1:3] == ["Company registry extract", "2.3 kB"]
    cells = statutes.locator("td").all_inner_texts()
    assert cells[0] == "statuts.png\nimage/png" and cells[1:3] == ["Other proof", f"{len(STATUTES)} byte"]
    assert cells[3][:4].isdigit(), "the day it was received"
    assert "Nothing here yet." in ops.locator("ul.audit").inner_text(), "nobody opened a proof yet"
    legal = ops.locator("#legal").inner_text()
    assert "Under review (version 1)" in legal and name in legal
    accessible(ops)
    shot(ops, "ops-member-review")

    # each proof opens as the member sent it, and the read is written in the audit log
    with ops.expect_download() as opened:
        statutes.get_by_role("link", name="statuts.png").click()
    assert opened.value.suggested_filename == "statuts.png"
    assert Path(opened.value.path()).read_bytes() == STATUTES
    with ops.expect_download() as opened:
        kbis.get_by_role("link", name="kbis-2024.pdf").click()
    assert Path(opened.value.path()).read_bytes() == KBIS
    ops.reload()
    audit = ops.locator("ul.audit li").all_inner_texts()
    assert len(audit) == 2 and all("read_member_proof" in line for line in audit)
    assert "kbis-2024.pdf" in audit[0] and "statuts.png" in audit[1], "newest first, naming the proof read"
    with stack.sessions() as s:
        ops_id = s.scalars(select(User.id).where(User.email == ops_email)).one()
        entries = s.scalars(
            select(AuditEntry).where(AuditEntry.target == f"membership:{org_id}").order_by(AuditEntry.at)
        ).all()
    proof_ids = {statutes.get_attribute("data-proof"), kbis.get_attribute("data-proof")}
    assert [(e.action, e.actor_user_id) for e in entries] == [("read_member_proof", ops_id)] * 2
    assert {str(e.details["document_id"]) for e in entries} == proof_ids

    # then ops approve it from the same page: it leaves the review queue
    ops.get_by_label("Note").fill("Kbis and statutes checked")
    ops.get_by_role("button", name="Approve").click()
    ops.wait_for_url("**/portal/ops/members?status=awaiting_review")
    flash_ok(ops)
    until(ops, lambda: ops.get_by_role("link", name=name).count() == 0, what="the member to leave the queue")
    ops.goto(f"/portal/ops/members/{org_id}")
    until(ops, lambda: "approve_legal_data" in ops.locator("ul.audit").inner_text(), what="the approval audited")


async def _proposals(stack: Stack, var: Path) -> tuple[str, Party]:
    """A mission whose three candidates proposed (at 900, 950 and 1,000 a day, ten days each), the first selected;
    and its client."""
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as api:
        demo, competition = await contract_through_the_api(stack, api, var)
        return demo.mission_id, competition.client


def test_ops_see_a_missions_proposals_side_by_side(
    new_context: Callable[..., BrowserContext], stack: Stack, tmp_path: Path
) -> None:
    with ThreadPoolExecutor(1) as setup:  # Playwright's sync API runs an event loop in this thread
        mission_id, client = setup.submit(asyncio.run, _proposals(stack, tmp_path)).result()
    ops = new_context().new_page()
    log_in(ops, create_ops_user(stack.sessions))
    enrol_authenticator(ops)
    ops.goto(f"/portal/ops/missions/{mission_id}")
    cards = ops.locator(".side-by-side .proposal")
    until(ops, lambda: cards.count() == 3, what="the three proposals")
    seen = {card.locator("h3").inner_text(): card.locator(".total strong").inner_text() for card in cards.all()}
    assert seen == {
        "Jean Dupont (selected)": "€9,000.00",
        "Aiko Bernard (submitted)": "€9,500.00",
        "Marc Leroy (submitted)": "€10,000.00",
    }
    assert "Diagnostic Beta" in cards.nth(1).inner_text(), "each proposal's own milestones"
    assert cards.first.locator("[data-reputation]").count() == 1, "the expert's card, as the client sees it"
    assert ops.get_by_role("button", name="Select this proposal").count() == 0, "the client's choice, not ops'"
    accessible(ops)
    shot(ops, "ops-mission-proposals")

    # what the client sees on its own mission page, in its language (French): ops see the same cards in it
    ops.context.add_cookies([{"name": LANG_COOKIE, "value": "fr", "url": stack.base_url}])
    ops.reload()
    theirs = new_context().new_page()
    log_in(theirs, client.email, DEMO_PASSWORD, client.recovery_codes.pop())
    theirs.goto(f"/portal/missions/{mission_id}")
    shown = theirs.locator(".side-by-side .proposal").all_inner_texts()
    assert len(shown) == 3 and PICKERS["fr"].money("9500", "EUR") in shown[1]
    assert cards.all_inner_texts() == shown
