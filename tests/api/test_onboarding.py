"""Onboarding through the API, on a time-skipping Temporal with the real membership, read-model and documents
activities: a new expert registered through the API is not matched (so cannot be invited) until ops approved its
legal data and its fee is confirmed, and is matched after; ops work from the queue (`/ops/members?status=…`), see
what is missing, ask for changes with a reason, approve; the proofs are content-checked and stored sealed; a member
sees only its own onboarding and only ops see the queue."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from activities.matching import MatchingActivities
from documents.store import open_document_store
from domain.need import Need
from domain.shortlist import ShortlistRequest
from store.models.community import AuditEntry
from store.models.legal import DocumentRecord
from store.models.onboarding import MemberDocument
from tests.api.conftest import bearer, expert_registration, login, verified
from tests.api.test_memberships import _ops_headers, _registered_client, member_api  # noqa: F401  (fixture)
from tests.workflows.test_membership import Members, members, own_clock, poll, renderer  # noqa: F401  (fixtures)

pytestmark = pytest.mark.db

LANGUAGE = "mt"  # spoken by no other expert of the test database: the need matches this test's expert only
PDF = b"%PDF-1.4\n1 0 obj<< /Type /Catalog >>endobj\ntrailer<< /Root 1 0 R >>\n%%EOF\n"


def matched(h: Members, expert_id: str) -> bool:
    """Whether matching (what a mission's shortlist and invitations come from) returns the expert."""
    need = Need(
        title="Monthly close in Malta", description="Redesign the monthly close of our Maltese subsidiary.",
        business_function="finance", skills=["financial_modelling"], languages=[LANGUAGE], budget_min=Decimal(500),
        budget_max=Decimal(1200), start_date=date.today() + timedelta(days=7), duration_days=20,
    )  # fmt: skip
    request = ShortlistRequest(mission_id=uuid.uuid4(), client_org_id=uuid.uuid4(), need=need, size=5, reserve_size=5)
    shortlist = MatchingActivities(h.sessions, h.settings).shortlist_sync(request)
    return expert_id in {str(c.expert_id) for c in [*shortlist.candidates, *shortlist.reserve]}


async def ok(response: Any, expected: int = 200) -> Any:
    answer: httpx.Response = await response
    assert answer.status_code == expected, answer.text
    return answer.json()


async def test_a_new_expert_is_matched_only_once_vetted_and_paid(
    member_api: httpx.AsyncClient,  # noqa: F811
    members: Members,  # noqa: F811
) -> None:
    api = member_api
    body = expert_registration(languages=["fr", LANGUAGE])
    expert_id = (await ok(api.post("/auth/register/expert", json=body), 201))["member_id"]
    verified(members.sessions, body["account"]["email"])
    expert = bearer(await login(api, body["account"]["email"]))
    ops = await _ops_headers(api, members.sessions)
    other_id, other = await _registered_client(api, members.sessions)

    mine = await poll(lambda: ok(api.get("/onboarding/me", headers=expert)), lambda m: m["due_at"] is not None, 30)
    assert mine["status"] == "profile" and not matched(members, expert_id)
    assert "document: identity" in mine["missing"]
    refused = await api.post("/onboarding/me/submit", headers=expert)
    assert refused.status_code == 409 and "document: identity" in refused.json()["detail"]

    # proofs: checked by content, sealed at rest
    exe = {"file": ("identity.pdf", b"MZ\x90\x00" + b"\x00" * 64, "application/pdf")}
    assert (await api.post("/onboarding/me/documents?kind=identity", files=exe, headers=expert)).status_code == 415
    for kind in ("identity", "registry_extract", "bank_details"):
        files = {"file": (f"{kind}.pdf", PDF, "application/pdf")}
        await ok(api.post(f"/onboarding/me/documents?kind={kind}", files=files, headers=expert), 201)
    with members.sessions() as s:
        proof = s.scalars(select(MemberDocument).where(MemberDocument.member_id == uuid.UUID(expert_id))).first()
        assert proof is not None
        record = s.get_one(DocumentRecord, proof.document_id)
    assert PDF not in open_document_store(members.settings.document_store).get(record.sha256)  # sealed

    submitted = await ok(api.post("/onboarding/me/submit", headers=expert))
    assert submitted["onboarding"]["status"] == "awaiting_review"

    # only ops see the queue; a member sees only its own onboarding
    assert (await api.get("/ops/members", headers=expert)).status_code == 403
    assert (await api.get(f"/ops/members/{expert_id}", headers=other)).status_code == 403
    assert (await ok(api.get("/onboarding/me", headers=other)))["member_id"] == str(other_id)
    queue = await ok(api.get("/ops/members?status=awaiting_review", headers=ops))
    row = next(m for m in queue if m["member_id"] == expert_id)
    assert (row["missing"], row["under_review"]) == ([], 1)
    download = await api.get(f"/ops/members/{expert_id}/documents/{proof.id}", headers=ops)
    assert download.status_code == 200 and download.content == PDF
    # under the name the member gave it, sandboxed as every file a member sent
    assert download.headers["content-disposition"] == f'attachment; filename="{proof.kind}.pdf"'
    assert download.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert (await api.get(f"/onboarding/me/documents/{proof.id}", headers=other)).status_code == 404

    # changes asked with a reason; the member fixes and resubmits
    asked = await ok(api.post(f"/ops/members/{expert_id}/request-changes", json={"reason": "Use your EI's name"},
                              headers=ops))  # fmt: skip
    assert asked["onboarding"]["status"] == "changes_requested"
    mine = await ok(api.get("/onboarding/me", headers=expert))
    assert (mine["status"], mine["reason"]) == ("changes_requested", "Use your EI's name")
    legal = mine["in_force"] | {"legal_name": "Jean Dupont EI Conseil"}
    bad = await api.put("/onboarding/me/legal", json=legal | {"siret": "123"}, headers=expert)
    assert bad.status_code == 422 and "siret" in bad.text
    await ok(api.put("/onboarding/me/legal", json=legal, headers=expert))
    await ok(api.post("/onboarding/me/submit", headers=expert))
    refused = await api.post(f"/ops/members/{expert_id}/approve", json={}, headers=expert)
    assert refused.status_code == 403
    approved = await ok(api.post(f"/ops/members/{expert_id}/approve", json={"note": "Kbis checked"}, headers=ops))
    assert approved["onboarding"]["status"] == "approved"
    assert not matched(members, expert_id)  # vetted, the fee not paid yet

    # ops see it waiting for its fee, and confirm the payment: matched from now on
    view = await poll(lambda: ok(api.get(f"/memberships/{expert_id}", headers=ops)), lambda v: v["invoice"], 30)
    waiting = await ok(api.get("/ops/members?status=awaiting_fee", headers=ops))
    assert expert_id in {m["member_id"] for m in waiting}
    payment = {"invoice_number": view["invoice"]["number"], "paid_on": view["invoice"]["issued_at"][:10]}
    await ok(api.post(f"/memberships/{expert_id}/payments", json=payment, headers=ops))
    assert matched(members, expert_id)
    with members.sessions() as s:
        audited = s.scalars(select(AuditEntry.action).where(AuditEntry.target == f"membership:{expert_id}")).all()
    assert {"request_legal_changes", "approve_legal_data", "read_member_proof"} <= set(audited)
    assert (await ok(api.get("/onboarding/me", headers=expert)))["in_force"]["legal_name"] == "Jean Dupont EI Conseil"
