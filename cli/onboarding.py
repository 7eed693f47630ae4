"""Onboarding through the API, for the demo and the tests that build live missions: each member uploads its proof
documents and submits its legal data, and ops approve it (MembershipWorkflow invoices the fee only then)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from domain.onboarding import REQUIRED_PROOFS

if TYPE_CHECKING:
    from cli.demo import Party

# A one-page PDF: what a scanned proof would be (content-checked on upload, sealed at rest).
PROOF_PDF = b"%PDF-1.4\n1 0 obj<< /Type /Catalog >>endobj\ntrailer<< /Root 1 0 R >>\n%%EOF\n"


class OnboardingError(RuntimeError):
    pass


def _ok(response: httpx.Response, expected: int = 200) -> httpx.Response:
    if response.status_code != expected:
        request = response.request
        raise OnboardingError(f"{request.method} {request.url.path}: {response.status_code} {response.text[:500]}")
    return response


async def vet_members(
    api: httpx.AsyncClient, ops: Party, members: list[Party], *, qualify_needs: bool | None = None
) -> None:
    """Vet each registered member (proofs, submission, ops' approval); with `qualify_needs`, also set each client
    organisation's qualification setting (the demo's needs go straight to matching with False)."""
    for member in members:
        mine = _ok(await api.get("/onboarding/me", headers=member.headers)).json()
        for kind in REQUIRED_PROOFS[mine["community"]]:
            files = {"file": (f"{kind}.pdf", PROOF_PDF, "application/pdf")}
            _ok(await api.post("/onboarding/me/documents", params={"kind": kind}, files=files,
                               headers=member.headers), 201)  # fmt: skip
        _ok(await api.post("/onboarding/me/submit", headers=member.headers))
        _ok(await api.post(f"/ops/members/{member.member_id}/approve", json={}, headers=ops.headers))
        if qualify_needs is not None and mine["community"] == "client_organisation":
            body = {"qualification_required": qualify_needs}
            _ok(await api.put(f"/ops/organisations/{member.member_id}/settings", json=body, headers=ops.headers))
