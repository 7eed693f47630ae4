"""The onboarding from the portal's pages (server-rendered forms, cookie session and CSRF token), on a time-skipping
Temporal with the real membership activities: a new expert uploads its proofs and submits them on its registration
page; ops find it on the members page, ask for changes with a reason, which the expert reads; after its resubmission
ops approve it there; ops change an organisation's qualification setting on the same page."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from api.deps import ACCESS_COOKIE
from api.web.core import CSRF_COOKIE, CSRF_FIELD
from store.models.community import Organisation
from tests.api.conftest import expert_registration, login, verified
from tests.api.test_memberships import _ops_headers, _registered_client, member_api  # noqa: F401  (fixture)
from tests.workflows.test_membership import Members, members, own_clock, poll, renderer  # noqa: F401  (fixtures)

pytestmark = pytest.mark.db
PDF = b"%PDF-1.4\n1 0 obj<< /Type /Catalog >>endobj\ntrailer<< /Root 1 0 R >>\n%%EOF\n"


class Browser:
    """One person's portal session: the access cookie and the CSRF token every form carries."""

    def __init__(self, api: httpx.AsyncClient, token: str, csrf: str) -> None:
        self.api, self.token, self.csrf = api, token, csrf

    def _cookies(self) -> dict[str, str]:
        return {"Cookie": f"{CSRF_COOKIE}={self.csrf}; {ACCESS_COOKIE}={self.token}"}

    async def get(self, path: str) -> str:
        self.api.cookies.clear()
        page = await self.api.get(path, headers=self._cookies())
        assert page.status_code == 200, page.text
        return page.text

    async def post(self, path: str, data: dict[str, str], files: dict[str, tuple[str, bytes]] | None = None) -> str:
        """The form's answer: where it sends the person back, and the flash message it leaves."""
        self.api.cookies.clear()
        answer = await self.api.post(path, data=data | {CSRF_FIELD: self.csrf}, files=files, headers=self._cookies())
        assert answer.status_code == 303, answer.text
        return answer.cookies.get("innot_flash") or ""


async def browser(api: httpx.AsyncClient, token: str) -> Browser:
    api.cookies.clear()
    csrf = (await api.get("/portal/login")).cookies.get(CSRF_COOKIE)
    assert csrf
    return Browser(api, token, csrf)


async def test_an_expert_is_vetted_from_the_portal_pages(
    member_api: httpx.AsyncClient,  # noqa: F811
    members: Members,  # noqa: F811
) -> None:
    api = member_api
    body = expert_registration(legal_name="Portail Conseil")
    expert_id = (await api.post("/auth/register/expert", json=body)).json()["member_id"]
    verified(members.sessions, body["account"]["email"])
    expert = await browser(api, (await login(api, body["account"]["email"]))["access_token"])
    ops = await browser(api, (await _ops_headers(api, members.sessions))["Authorization"].removeprefix("Bearer "))
    org_id, _client = await _registered_client(api, members.sessions)

    page = await poll(lambda: expert.get("/portal/onboarding"), lambda p: "document: identity" in p, 30)
    assert "Portail Conseil" in page  # its legal data, as given at registration
    for kind in ("identity", "registry_extract", "bank_details"):
        await expert.post("/portal/onboarding/documents", {"kind": kind}, {"file": (f"{kind}.pdf", PDF)})
    assert "error" in await expert.post("/portal/onboarding/legal", {"legal_name": "X"})  # incomplete: refused
    assert "error" not in await expert.post("/portal/onboarding/submit", {})

    assert "/portal/ops/members?status=awaiting_review" in await ops.get("/portal/ops/attention")  # ops' task
    queue = await ops.get("/portal/ops/members?status=awaiting_review")
    assert expert_id in queue and "Portail Conseil" in queue
    await ops.post(f"/portal/ops/members/{expert_id}/request-changes", {"reason": "The Kbis is too old"})
    assert "The Kbis is too old" in await expert.get("/portal/onboarding")
    inbox = await expert.get("/portal/inbox")  # the task to fix it links to the registration page
    assert "The Kbis is too old" in inbox and '<p class="meta"><a href="/portal/onboarding">' in inbox

    await expert.post("/portal/onboarding/submit", {})
    assert "error" not in await ops.post(f"/portal/ops/members/{expert_id}/approve", {"note": "ok"})
    mine = (await api.get("/onboarding/me", headers={"Authorization": f"Bearer {expert.token}"})).json()
    assert (mine["status"], mine["queue_status"]) == ("approved", "awaiting_fee")

    # an organisation's qualification of needs, from the same page (the box unticked: off)
    assert re.search(rf"organisations/{org_id}/qualification", await ops.get("/portal/ops/members"))
    await ops.post(f"/portal/ops/organisations/{org_id}/qualification", {"qualification_required": "off"})
    with members.sessions() as s:
        assert s.get_one(Organisation, uuid.UUID(str(org_id))).qualification_required is False
