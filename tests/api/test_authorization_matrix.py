"""Authorization matrix: every route of the app x every kind of caller, on a real mission (Temporal dev server,
in delivery: contract signed, first milestone delivered, accepted and invoiced), generated from the app's route
table so that a new route cannot escape it.

Callers: anonymous, client of the mission's organisation (A: its admin, and a buyer, an approver and a finance
member the admin invited), client of another organisation (B), the invited
and selected expert, a losing candidate (invited, proposed, not selected), an expert removed from the shortlist
before the invitations, an unrelated expert, ops. Each route is classified below; an unclassified route fails.
What is asserted: anonymous gets 401 except on public, health, docs, auth and portal pages; a wrong role gets
403; a mission of another organisation, or one an expert is not part of (never invited, or removed from the
shortlist), answers 404 exactly like a missing mission (same status, same body); the rightful caller gets through
authorization (the matrix sends the rightful caller an invalid body, so nothing is written: 422, or 200 for
reads). And what the answers say: neither the losing candidate nor the removed expert ever reads, on any route,
another expert's id, name, price or milestones, nor the contract's invoice numbers, document hashes or messages
(the removed expert not even the mission's title), unless an anonymous caller reads it there too (public data).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from pydantic import TypeAdapter
from starlette.routing import Mount

from api.deps import ACCESS_COOKIE
from api.routers.missions import form_of
from api.schemas.missions import TaskRead
from api.web.core import CSRF_COOKIE, CSRF_FIELD, FLASH_COOKIE
from cli.demo import need, proposal
from domain.mission import MissionView
from tests.api.live import LiveMission, secrets

pytestmark = [pytest.mark.db, pytest.mark.devserver]

ANON, CLIENT_A, BUYER, APPROVER, FINANCE, CLIENT_B, EXPERT, LOSER, REMOVED, STRANGER, OPS = (
    "anonymous",
    "client_a",
    "client_buyer",
    "client_approver",
    "client_finance",
    "client_b",
    "expert_selected",
    "expert_losing",
    "expert_removed",
    "expert_unrelated",
    "ops",
)
# anonymous first: the public answer
ROLES = (ANON, CLIENT_A, BUYER, APPROVER, FINANCE, CLIENT_B, EXPERT, LOSER, REMOVED, STRANGER, OPS)
COLLEAGUES = {BUYER: 403, APPROVER: 403, FINANCE: 403}  # client A's members who are not its admin
NOT_RUNNING = {APPROVER: 403, FINANCE: 403}  # members whose role does not run missions (domain.org_roles)
OUTSIDERS = (CLIENT_B, REMOVED, STRANGER)  # a mission-scoped route answers them as for a missing mission
WATCHED = (LOSER, REMOVED)  # whose answers are read for what they must not learn
OK = "ok"  # through authorization: the route's own answer (200, 201, 204, 303, 409 or 422 for the invalid body)

# Who gets what, per kind of route. A role missing from a kind's row gets OK.
KINDS: dict[str, dict[str, int | str]] = {
    "public": {},  # anyone, anonymous included
    "open": {},  # no token needed (registration, login, refresh): the body is checked, never 401
    "any": {ANON: 401},  # any account, for its own data
    "client": {ANON: 401, EXPERT: 403, LOSER: 403, REMOVED: 403, STRANGER: 403, OPS: 403},
    # the admin of an organisation manages its members and settings (client B: for its own organisation)
    "org-admin": {ANON: 401, **COLLEAGUES, EXPERT: 403, LOSER: 403, REMOVED: 403, STRANGER: 403, OPS: 403},
    "expert": {ANON: 401, CLIENT_A: 403, **COLLEAGUES, CLIENT_B: 403, OPS: 403},
    "directory": {ANON: 401, EXPERT: 403, LOSER: 403, REMOVED: 403, STRANGER: 403},  # clients (and ops) choose
    "ops": {
        ANON: 401,
        CLIENT_A: 403,
        **COLLEAGUES,
        CLIENT_B: 403,
        EXPERT: 403,
        LOSER: 403,
        REMOVED: 403,
        STRANGER: 403,
    },
    # mission-scoped: another organisation's client and an expert not part of the mission get 404 (as missing);
    # a losing candidate is part of it (their own invitation and proposal), the removed expert is not
    "mission-read": {ANON: 401, CLIENT_B: 404, REMOVED: 404, STRANGER: 404},
    "mission-parties": {ANON: 401, CLIENT_B: 404, REMOVED: 404, STRANGER: 404, OPS: 403},
    # the selected expert's thread
    "mission-thread": {ANON: 401, CLIENT_B: 404, LOSER: 404, REMOVED: 404, STRANGER: 404, OPS: 404},
    # the client's side: its admin and buyers run the mission, its approvers approve a budget, finance pays
    "mission-client": {
        ANON: 401,
        **NOT_RUNNING,
        CLIENT_B: 404,
        REMOVED: 404,
        STRANGER: 404,
        EXPERT: 403,
        LOSER: 403,
        OPS: 403,
    },
    "mission-approver": {
        ANON: 401,
        BUYER: 403,
        FINANCE: 403,
        CLIENT_B: 404,
        REMOVED: 404,
        STRANGER: 404,
        EXPERT: 403,
        LOSER: 403,
        OPS: 403,
    },
    "mission-payer": {  # the client's admin or finance, and the contracted expert (money received)
        ANON: 401,
        BUYER: 403,
        APPROVER: 403,
        CLIENT_B: 404,
        REMOVED: 404,
        STRANGER: 404,
        OPS: 403,
    },
    "mission-expert": {ANON: 401, CLIENT_B: 404, REMOVED: 404, STRANGER: 404, CLIENT_A: 403, **COLLEAGUES, OPS: 403},
    "mission-party": {ANON: 401, **NOT_RUNNING, CLIENT_B: 404, REMOVED: 404, STRANGER: 404, OPS: 403},
    "own-fee-invoice": {ANON: 401, CLIENT_B: 404, EXPERT: 404, LOSER: 404, REMOVED: 404, STRANGER: 404, OPS: 404},
    # portal pages: cookie auth, anonymous is sent to the login page (303), forms need the CSRF token
    "portal-public": {},
    "portal-form": {},
    "portal-page": {ANON: 303},
    "portal-mission": {ANON: 303, CLIENT_B: 404, REMOVED: 404, STRANGER: 404},
    # a form on another's mission goes back with the error flash a missing mission gets; nothing is done
    "portal-mission-form": {ANON: 303, CLIENT_B: 303, REMOVED: 303, STRANGER: 303},
}
CONTRACT_ONLY = {LOSER: 404}  # the contract's documents: a losing candidate finds none
MISSION_KINDS = {k for k in KINDS if k.startswith(("mission-", "portal-mission"))}


@dataclass(frozen=True)
class Rule:
    kind: str
    body: Any = None  # a VALID body: what a wrong role sends (the role check comes after body validation)
    ok: int | tuple[int, ...] | None = None  # the rightful caller's answer, when not the default
    only: dict[str, int | str] = field(default_factory=dict)  # per-role exceptions to the kind's row
    query: str = ""
    fresh_session: bool = False  # the route ends the caller's session: use a throwaway login


REASON = {"reason": "the matrix checks who may do this"}
TODAY = date.today().isoformat()
UUID0 = "00000000-0000-4000-8000-000000000000"
LEGAL_DATA = {"legal_name": "Matrix SA", "legal_form": "SA", "address_line": "1 rue de la Paix", "postcode": "75002",
              "city": "Paris", "country": "FR"}  # fmt: skip

RULES: dict[tuple[str, str], Rule] = {
    # docs, health, metrics, static files
    ("GET", "/openapi.json"): Rule("public"),
    ("GET", "/docs"): Rule("public"),
    ("GET", "/docs/oauth2-redirect"): Rule("public"),
    ("GET", "/redoc"): Rule("public"),
    ("GET", "/metrics"): Rule("public"),  # Prometheus scrape: counts only, no mission or person data
    ("GET", "/health"): Rule("public"),
    ("GET", "/static"): Rule("public"),
    # accounts
    ("POST", "/auth/register/client"): Rule("open"),
    ("POST", "/auth/register/expert"): Rule("open"),
    ("POST", "/auth/login"): Rule("open"),
    ("POST", "/auth/refresh"): Rule("open"),
    ("POST", "/auth/logout"): Rule("any", fresh_session=True),
    ("GET", "/auth/me"): Rule("any"),
    ("POST", "/auth/verify-email"): Rule("open"),
    ("POST", "/auth/verify-email/resend"): Rule("any", ok=409),  # every party of the matrix is verified
    ("POST", "/auth/password/forgot"): Rule("open"),
    ("POST", "/auth/password/reset"): Rule("open"),
    ("GET", "/auth/sessions"): Rule("any"),
    ("DELETE", "/auth/sessions/{session_id}"): Rule("any", ok=404),  # nobody's session: as for another's
    ("GET", "/auth/totp"): Rule("any"),
    ("POST", "/auth/totp/setup"): Rule("any", ok=409),  # every party of the matrix is enrolled
    ("POST", "/auth/totp/enable"): Rule("any"),
    ("POST", "/auth/totp/recovery-codes"): Rule("any"),
    ("POST", "/auth/totp/disable"): Rule("any"),
    ("GET", "/auth/me/export"): Rule("any"),  # my data (GDPR), as I may see it
    ("POST", "/auth/me/erasure"): Rule("any"),  # the invalid body erases nothing
    ("GET", "/tasks"): Rule("any"),
    # my notices: each person reads and marks only their own (another's notice id answers 404 like a missing one)
    ("GET", "/notifications"): Rule("any"),
    ("POST", "/notifications/{notice_id}/read"): Rule("any", ok=404),
    ("POST", "/notifications/read-all"): Rule("any", ok=204),
    ("GET", "/notifications/preferences"): Rule("any"),
    ("PUT", "/notifications/preferences"): Rule("any", body=[{"kind": "reminder", "mode": "digest"}]),
    ("GET", "/missions"): Rule("any"),
    ("GET", "/memberships/me"): Rule("any", only={OPS: 404}),  # staff are no member
    ("GET", "/memberships/me/invoices/{number}.pdf"): Rule("own-fee-invoice"),
    ("GET", "/clients/organisation"): Rule("client"),
    ("GET", "/clients/organisation/members"): Rule("client"),
    ("POST", "/missions"): Rule("client", body=need(), only=NOT_RUNNING),
    # the organisation's members and settings
    ("GET", "/org/members"): Rule("client"),
    ("POST", "/org/members"): Rule(
        "org-admin", body={"email": "x@colleague.example", "full_name": "X Y", "role": "buyer"}
    ),
    ("PATCH", "/org/members/{user_id}"): Rule("org-admin", body={"role": "buyer"}),
    ("DELETE", "/org/members/{user_id}"): Rule("org-admin", ok=404),  # nobody: as for another organisation's member
    ("POST", "/org/join"): Rule("open"),
    ("GET", "/org/settings"): Rule("client"),
    ("PUT", "/org/settings"): Rule("org-admin", body={"approval_threshold": None}),
    ("GET", "/experts/profile"): Rule("expert"),
    ("PATCH", "/experts/profile"): Rule("expert", body={"headline": "Finance"}),
    ("POST", "/experts/profile/cv"): Rule("expert", body="file"),
    ("GET", "/directory/experts"): Rule("directory"),
    ("GET", "/directory/experts/{expert_id}"): Rule("directory", ok=(200, 404)),
    ("GET", "/directory/experts/{expert_id}/cv"): Rule("directory", ok=404),  # no public CV
    # one mission
    ("GET", "/missions/{mission_id}"): Rule("mission-read"),
    ("GET", "/missions/{mission_id}/state"): Rule("mission-read"),
    ("GET", "/missions/{mission_id}/documents"): Rule("mission-read"),
    ("GET", "/missions/{mission_id}/documents/{document_id}"): Rule("mission-read", only=CONTRACT_ONLY),
    ("GET", "/missions/{mission_id}/threads"): Rule("mission-parties"),
    ("GET", "/missions/{mission_id}/threads/{expert_id}/messages"): Rule("mission-thread"),
    ("POST", "/missions/{mission_id}/threads/{expert_id}/messages"): Rule("mission-thread", body={"body": "hi"}),
    ("POST", "/missions/{mission_id}/need"): Rule("mission-client", body={"need": need()}),
    ("POST", "/missions/{mission_id}/shortlist/invite"): Rule("mission-client", body={"expert_id": UUID0}),
    ("POST", "/missions/{mission_id}/shortlist/remove"): Rule("mission-client", body={"remove_expert_ids": [UUID0]}),
    ("POST", "/missions/{mission_id}/invitations/start"): Rule("mission-client", body={}),
    ("POST", "/missions/{mission_id}/proposals/select"): Rule("mission-client", body={"expert_id": UUID0}),
    ("POST", "/missions/{mission_id}/proposals/new-round"): Rule("mission-client", body=REASON),
    # either party: after the contract, cancelling is asked by one and agreed by the other
    ("POST", "/missions/{mission_id}/cancel"): Rule("mission-party", body=REASON),
    ("POST", "/missions/{mission_id}/dispute"): Rule("mission-party", body=REASON),
    # the shared mission has no dispute: who gets through finds none
    ("POST", "/missions/{mission_id}/disputes/{number}/answer"): Rule(
        "mission-party", body={"statement": "we disagree"}
    ),
    ("GET", "/missions/{mission_id}/disputes/{number}"): Rule("mission-read", ok=404, only=CONTRACT_ONLY),
    ("POST", "/missions/{mission_id}/evidence"): Rule("mission-parties", body="file", only=CONTRACT_ONLY),
    # the matrix's document is an invoice, no evidence: 404 for whoever gets through
    ("GET", "/missions/{mission_id}/evidence/{document_id}"): Rule("mission-read", ok=404),
    ("POST", "/missions/{mission_id}/milestones/{number}/accept"): Rule("mission-client", body={}),
    ("POST", "/missions/{mission_id}/milestones/{number}/revision"): Rule("mission-client", body=REASON),
    # the client's admin or finance confirm it paid, the contracted expert that the money arrived
    ("POST", "/missions/{mission_id}/milestones/{number}/payment"): Rule("mission-payer", body={"paid_on": TODAY}),
    ("POST", "/missions/{mission_id}/milestones/{number}/non-payment"): Rule("mission-expert", body=REASON),
    ("POST", "/missions/{mission_id}/approval/approve"): Rule("mission-approver", body={}),
    ("POST", "/missions/{mission_id}/approval/reject"): Rule("mission-approver", body=REASON),
    ("POST", "/missions/{mission_id}/invitation/accept"): Rule("mission-expert", body={}),
    ("POST", "/missions/{mission_id}/invitation/decline"): Rule("mission-expert", body={}),
    ("POST", "/missions/{mission_id}/proposal"): Rule("mission-expert", body=proposal("900.00")),
    ("POST", "/missions/{mission_id}/proposal/withdraw"): Rule("mission-expert", body={}),
    ("POST", "/missions/{mission_id}/milestones/{number}/deliverable"): Rule("mission-expert", body="file"),
    ("POST", "/missions/{mission_id}/contract/sign"): Rule("mission-party", body={"expected_sha256": "0" * 64}),
    ("POST", "/missions/{mission_id}/rating"): Rule("mission-party", body={"score": 5}),
    ("POST", "/missions/{mission_id}/rating/answer"): Rule("mission-party", body={"reply": "Thank you"}),
    # ops
    ("GET", "/ops/audit"): Rule("ops"),
    ("GET", "/ops/mail"): Rule("ops"),
    ("GET", "/ops/missions"): Rule("ops"),
    ("GET", "/ops/missions/{mission_id}"): Rule("ops"),
    ("POST", "/ops/missions/{mission_id}/qualify"): Rule("ops"),
    ("POST", "/ops/missions/{mission_id}/pause"): Rule("ops"),
    ("POST", "/ops/missions/{mission_id}/resume"): Rule("ops"),
    ("POST", "/ops/missions/{mission_id}/extend"): Rule("ops"),
    ("POST", "/ops/missions/{mission_id}/reassign"): Rule("ops"),
    ("POST", "/ops/missions/{mission_id}/disputes/{number}/decide"): Rule("ops"),
    ("POST", "/ops/missions/{mission_id}/cancel"): Rule("ops"),
    ("POST", "/ops/missions/{mission_id}/milestones/{number}/resume"): Rule("ops"),
    ("POST", "/ops/missions/{mission_id}/milestones/{number}/extend"): Rule("ops"),
    ("POST", "/ops/missions/{mission_id}/terminate"): Rule("ops"),
    ("GET", "/ops/attention"): Rule("ops"),
    ("POST", "/ops/retry-all"): Rule("ops"),
    ("GET", "/ops/batch/count"): Rule("ops", ok=422),  # without its `where`
    ("POST", "/ops/batch"): Rule("ops"),
    ("GET", "/ops/parties/{kinds}/{party_id}/legal"): Rule("ops"),
    ("PUT", "/ops/parties/{kinds}/{party_id}/legal"): Rule("ops"),
    # outside a dispute, ops may not read a thread (409 says why); with a reason, as the route requires
    ("GET", "/ops/missions/{mission_id}/threads/{expert_id}/messages"): Rule("ops", ok=409, query="reason=matrix"),
    # nor write in it to mediate (its invalid body answers first)
    ("POST", "/ops/missions/{mission_id}/threads/{expert_id}/messages"): Rule("ops", body={"body": "hi"}),
    ("GET", "/memberships/{member_id}"): Rule("ops"),
    ("POST", "/memberships/{member_id}/payments"): Rule("ops"),
    # onboarding: a member's own (staff are no member); the matrix's parties are vetted, the unrelated two are not
    ("GET", "/onboarding/me"): Rule("any", only={OPS: 404}),
    ("PUT", "/onboarding/me/legal"): Rule("any", body=LEGAL_DATA, only={OPS: 404}),
    ("POST", "/onboarding/me/documents"): Rule("any", body="file", query="kind=identity", only={OPS: 404}),
    ("GET", "/onboarding/me/documents/{document_id}"): Rule("any", ok=404),  # a mission's document is no proof
    # vetted members submit a new version; the two not vetted miss their proofs (409)
    ("POST", "/onboarding/me/submit"): Rule("any", ok=(200, 409), only={OPS: 404}),
    ("GET", "/ops/members"): Rule("ops"),
    ("GET", "/ops/members/{member_id}"): Rule("ops"),
    ("GET", "/ops/members/{member_id}/documents/{document_id}"): Rule("ops", ok=404),
    ("POST", "/ops/members/{member_id}/approve"): Rule("ops"),
    ("POST", "/ops/members/{member_id}/request-changes"): Rule("ops"),
    ("GET", "/ops/organisations/{org_id}/settings"): Rule("ops"),
    ("PUT", "/ops/organisations/{org_id}/settings"): Rule("ops", body={"qualification_required": True}),
    ("POST", "/codec/encode"): Rule("ops"),
    ("POST", "/codec/decode"): Rule("ops"),
    # public transparency ledger
    ("GET", "/public/ledger"): Rule("public"),
    ("GET", "/public/ledger.csv"): Rule("public"),
    ("GET", "/public/ledger/verify"): Rule("public"),
    ("GET", "/public/exposure"): Rule("public"),
    # the portal (server-rendered pages)
    ("GET", "/"): Rule("portal-public"),
    ("GET", "/portal"): Rule("portal-public"),
    ("GET", "/portal/login"): Rule("portal-public"),
    ("GET", "/portal/register/client"): Rule("portal-public"),
    ("GET", "/portal/register/expert"): Rule("portal-public"),
    ("GET", "/transparency"): Rule("portal-public"),
    ("GET", "/transparency.csv"): Rule("portal-public"),
    ("POST", "/portal/login"): Rule("portal-form", ok=401),  # the empty form: login failed
    ("POST", "/portal/logout"): Rule("portal-form", fresh_session=True),
    ("POST", "/portal/language"): Rule("portal-form", body={"language": "fr"}),
    ("POST", "/portal/register/{kind}"): Rule("portal-form", ok=422),
    ("GET", "/portal/verify-email"): Rule("portal-public"),
    ("POST", "/portal/verify-email"): Rule("portal-form", ok=400),  # the empty form: no valid link
    ("GET", "/portal/forgot-password"): Rule("portal-public"),
    ("POST", "/portal/forgot-password"): Rule("portal-form", ok=422),  # the empty form: no address
    ("GET", "/portal/reset-password"): Rule("portal-public"),
    ("POST", "/portal/reset-password"): Rule("portal-form", ok=400),  # the empty form: no valid link
    ("GET", "/portal/join"): Rule("portal-public"),
    ("POST", "/portal/join"): Rule("portal-form", ok=400),  # the empty form: no valid link
    ("GET", "/portal/members"): Rule("portal-page"),  # other roles are sent home (303)
    ("POST", "/portal/members/invite"): Rule("portal-page"),  # the admin's empty form comes back with its error
    ("POST", "/portal/members/settings"): Rule("portal-page"),
    ("POST", "/portal/members/{user_id}/role"): Rule("portal-page"),
    ("POST", "/portal/members/{user_id}/remove"): Rule("portal-page"),
    ("GET", "/portal/security"): Rule("portal-page"),
    ("POST", "/portal/security/verify-email"): Rule("portal-page"),
    ("POST", "/portal/security/totp/setup"): Rule("portal-page"),
    ("POST", "/portal/security/totp/enable"): Rule("portal-page"),
    ("POST", "/portal/security/totp/recovery-codes"): Rule("portal-page"),
    ("POST", "/portal/security/totp/disable"): Rule("portal-page"),
    ("POST", "/portal/security/sessions/{session_id}/revoke"): Rule("portal-page"),
    ("GET", "/portal/notifications"): Rule("portal-page"),  # one's own notices only
    ("POST", "/portal/notifications/read-all"): Rule("portal-page"),
    ("POST", "/portal/notifications/{notice_id}/open"): Rule("portal-page"),  # another's: "not found", as the API
    ("GET", "/portal/notifications/preferences"): Rule("portal-page"),
    ("POST", "/portal/notifications/preferences"): Rule("portal-page"),
    ("GET", "/portal/security/export"): Rule("portal-page"),
    ("POST", "/portal/security/erase"): Rule("portal-page"),  # the empty form: wrong password, nothing erased
    ("GET", "/portal/missions"): Rule("portal-page"),
    ("GET", "/portal/missions/new"): Rule("portal-page"),
    ("POST", "/portal/missions/new"): Rule("portal-page", ok=(303, 422)),
    ("GET", "/portal/inbox"): Rule("portal-page"),
    ("GET", "/portal/profile"): Rule("portal-page"),
    ("GET", "/portal/directory"): Rule("portal-page"),  # experts are sent home (303)
    ("POST", "/portal/profile"): Rule("portal-page", ok=(303, 422)),  # the empty form comes back with its errors
    ("POST", "/portal/profile/cv"): Rule("portal-page"),
    ("GET", "/portal/ops/missions"): Rule("portal-page"),
    ("GET", "/portal/ops/attention"): Rule("portal-page"),
    ("GET", "/portal/ops/audit"): Rule("portal-page"),
    ("GET", "/portal/ops/charts"): Rule("portal-page"),
    ("GET", "/portal/ops/overview"): Rule("portal-page"),  # other roles are sent home (303)
    ("GET", "/portal/ops/members"): Rule("portal-page"),
    ("GET", "/portal/onboarding"): Rule("portal-page"),  # a member's own; ops are sent home (303)
    ("POST", "/portal/onboarding/legal"): Rule("portal-page"),
    ("POST", "/portal/onboarding/documents"): Rule("portal-page"),
    ("POST", "/portal/onboarding/submit"): Rule("portal-page"),
    ("POST", "/portal/ops/members/{member_id}/{decision}"): Rule("portal-page", body=REASON),
    ("POST", "/portal/ops/organisations/{org_id}/qualification"): Rule("portal-page"),
    ("GET", "/portal/ops/missions/{mission_id}"): Rule("portal-page"),  # other roles are sent home (303)
    ("POST", "/portal/ops/missions/{mission_id}/{action}"): Rule("portal-page", body=REASON),
    ("POST", "/portal/ops/retry-all"): Rule("portal-page"),  # the empty form: no reason, nothing resumed
    ("GET", "/portal/ops/batch"): Rule("portal-page"),
    ("POST", "/portal/ops/batch"): Rule("portal-page"),  # the empty form: no reason, no count
    ("GET", "/portal/ops/parties/{kinds}/{party_id}/legal"): Rule("portal-page"),
    ("POST", "/portal/ops/parties/{kinds}/{party_id}/legal"): Rule("portal-page"),  # no reason: nothing changes
    # a client or expert page; ops are sent to their own mission page (303)
    ("GET", "/portal/missions/{mission_id}"): Rule("portal-mission", only={OPS: 303}),
    ("GET", "/portal/missions/{mission_id}/documents/{document_id}"): Rule("portal-mission", only=CONTRACT_ONLY),
    ("POST", "/portal/missions/{mission_id}/act/{update}"): Rule("portal-mission-form", body=REASON),
    ("POST", "/portal/missions/{mission_id}/milestones/{number}/deliverable"): Rule("portal-mission-form"),
    ("POST", "/portal/missions/{mission_id}/milestones/{number}/{update}"): Rule("portal-mission-form", body=REASON),
    ("POST", "/portal/missions/{mission_id}/disputes/{number}/{update}"): Rule("portal-mission-form", body=REASON),
    ("POST", "/portal/missions/{mission_id}/threads/{expert_id}"): Rule("portal-mission-form", body={"body": "hi"}),
}


def route_table(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, including routes hidden from the OpenAPI document and mounts."""
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, Mount):
            found.add(("GET", str(context.path)))
            continue
        for method in context.methods or ():
            if method != "HEAD":
                found.add((method, str(context.path)))
    return found


def test_every_route_is_classified(live_mission: LiveMission) -> None:
    routes = route_table(live_mission.app)
    unclassified = sorted(routes - RULES.keys())
    assert not unclassified, f"unclassified route(s): add them to RULES with who may call them: {unclassified}"
    stale = sorted(RULES.keys() - routes)
    assert not stale, f"RULES names routes the app no longer has: {stale}"
    openapi = {(m.upper(), p) for p, ops in live_mission.app.openapi()["paths"].items() for m in ops}
    assert openapi <= routes  # the documented routes are among those checked


# --- requests --------------------------------------------------------------------------------------------------


def _path(live: LiveMission, template: str, mission_id: str) -> str:
    values = {
        "mission_id": mission_id,
        "expert_id": live.parties[EXPERT].member_id,
        "number": "1",
        "document_id": live.document_id,
        "member_id": live.parties[CLIENT_A].member_id,
        "org_id": live.parties[CLIENT_A].member_id,
        "kind": "client",
        "update": "request_revision" if "/milestones/" in template else "cancel",
        "action": "pause",
        "decision": "request-changes",
        "notice_id": UUID0,
        "session_id": UUID0,
        "kinds": "experts",
        "party_id": live.parties[EXPERT].member_id,
        "user_id": UUID0,
    }
    path = template.replace("{number}.pdf", f"{live.fee_invoice}.pdf").replace("/static", "/static/portal.css")
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


async def _token(live: LiveMission, role: str, fresh: bool) -> str | None:
    if role == ANON:
        return None
    if not fresh:
        return live.tokens[role]
    party = live.parties[role]
    login = {"email": party.email, "password": _password(), "otp": party.recovery_codes.pop()}
    answer = await live.api.post("/auth/login", json=login)
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def _password() -> str:
    from cli.demo import PASSWORD

    return PASSWORD


async def _csrf(live: LiveMission) -> str:
    if "csrf" not in live.extra:
        live.api.cookies.clear()
        live.extra["csrf"] = (await live.api.get("/portal/login")).cookies.get(CSRF_COOKIE)
    token: str = live.extra["csrf"]
    assert token
    return token


async def call(
    live: LiveMission, method: str, template: str, role: str, *, mission_id: str | None = None, valid: bool
) -> httpx.Response:
    """One request as this role. `valid`: send the rule's valid body (to a caller who must be refused before
    anything happens); otherwise an invalid one, so that a caller who gets through writes nothing."""
    rule = RULES[(method, template)]
    path = _path(live, template, mission_id or live.mission_id) + (f"?{rule.query}" if rule.query else "")
    token = await _token(live, role, rule.fresh_session)
    live.api.cookies.clear()  # each request carries only the cookies given here
    if template.startswith(("/portal", "/transparency")) or template == "/":
        csrf = await _csrf(live)
        cookies = f"{CSRF_COOKIE}={csrf}" + (f"; {ACCESS_COOKIE}={token}" if token else "")
        form = {CSRF_FIELD: csrf} | (rule.body if isinstance(rule.body, dict) and valid else {})
        if method == "GET":
            return await live.api.get(path, headers={"Cookie": cookies})
        return await live.api.request(method, path, data=form, headers={"Cookie": cookies})
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "GET":
        return await live.api.get(path, headers=headers)
    if rule.body == "file":
        files = {"file": ("deliverable.pdf", b"%PDF-1.4 matrix", "application/pdf")} if valid else None
        return await live.api.request(method, path, files=files, data=None if valid else {}, headers=headers)
    body = rule.body if valid and rule.body is not None else "not an object"
    if template == "/auth/logout":
        return await live.api.post(path, headers=headers)
    return await live.api.request(method, path, json=body, headers=headers)


def _ok_statuses(method: str, template: str, rule: Rule) -> tuple[int, ...]:
    if rule.ok is not None:
        return rule.ok if isinstance(rule.ok, tuple) else (rule.ok,)
    if rule.kind.startswith("portal"):
        return (200, 303) if method == "GET" else (303,)
    if method == "GET" or template == "/auth/logout":
        return (200, 204)
    return (422,)  # the invalid body: authorization passed, nothing written


def _seen(answer: httpx.Response, mission_id: str) -> tuple[int, str, str, str]:
    """What a caller learns from an answer, with the mission id it asked for blanked out."""
    flash = answer.cookies.get(FLASH_COOKIE) or ""
    location = answer.headers.get("location", "")
    return answer.status_code, answer.text.replace(mission_id, "<id>"), location.replace(mission_id, "<id>"), flash


def leaks(template: str, answer: httpx.Response, public: httpx.Response, told: set[str], mission_id: str) -> list[str]:
    """The secrets this answer tells, beyond what the anonymous answer of the same route tells everyone. The mission
    id the caller put in the path is no secret to them."""
    asked = mission_id if "{mission_id}" in template else str(uuid.uuid4())  # a random id blanks nothing
    shown, everyone = " ".join(_seen(answer, asked)[1:]), " ".join(_seen(public, asked)[1:])
    return sorted(t for t in told if t in shown and t not in everyone)


@pytest.mark.parametrize(("method", "template"), sorted(RULES), ids=[f"{m} {p}" for m, p in sorted(RULES)])
async def test_route_authorization(live_mission: LiveMission, method: str, template: str) -> None:
    rule = RULES[(method, template)]
    expected_row = KINDS[rule.kind] | rule.only
    told = await secrets(live_mission)
    problems = []
    answers: dict[str, httpx.Response] = {}
    for role in ROLES:
        expected = expected_row.get(role, OK)
        answer = answers[role] = await call(live_mission, method, template, role, valid=expected != OK)
        allowed = _ok_statuses(method, template, rule) if expected == OK else (expected,)
        if answer.status_code not in allowed:
            problems.append(f"{role}: expected {allowed}, got {answer.status_code} {answer.text[:200]}")
        if expected == 303 and role == ANON:
            assert answer.headers["location"].startswith("/portal/login"), answer.headers
        if rule.kind in MISSION_KINDS and role in OUTSIDERS:
            unknown = str(uuid.uuid4())
            missing = await call(live_mission, method, template, role, mission_id=unknown, valid=True)
            foreign, absent = _seen(answer, live_mission.mission_id), _seen(missing, unknown)
            if foreign != absent:
                problems.append(f"{role}: a foreign mission answers {foreign}, a missing one {absent}")
        if role in WATCHED:
            for secret in leaks(template, answer, answers[ANON], told[role], live_mission.mission_id):
                problems.append(f"{role}: the answer ({answer.status_code}) tells {secret!r}")
    assert not problems, "\n".join(problems)


async def test_a_client_of_another_organisation_finds_nothing_of_the_mission(live_mission: LiveMission) -> None:
    live = live_mission
    outsider = live.parties[CLIENT_B].headers
    listed = (await live.api.get("/missions", headers=outsider)).json()
    assert live.mission_id not in {m["id"] for m in listed["items"]}
    tasks = (await live.api.get("/tasks", headers=outsider)).json()
    assert live.mission_id not in {t["mission_id"] for t in tasks}
    insider = (await live.api.get("/missions", headers=live.parties[CLIENT_A].headers)).json()
    assert live.mission_id in {m["id"] for m in insider["items"]}


async def test_the_inbox_lists_the_partys_open_tasks_each_with_its_form(live_mission: LiveMission) -> None:
    """The inbox is written straight from the read model's rows: exactly the bytes TaskRead would write."""
    live = live_mission
    answer = await live.api.get("/tasks", headers=live.parties[CLIENT_A].headers)
    assert answer.status_code == 200
    adapter = TypeAdapter(list[TaskRead])
    tasks = adapter.validate_json(answer.content)
    assert answer.content == adapter.dump_json(tasks)
    mine = [t for t in tasks if str(t.mission_id) == live.mission_id]
    assert mine and {t.role for t in mine} == {"client"}
    for t in mine:
        assert t.form == form_of(t.action, live.mission_id, t.workflow_id) != ""
        # a milestone's task points at that milestone's route (its number filled in), a mission's at the mission's
        assert ("/milestones/1/" in t.form) == t.workflow_id.endswith(":milestone:1"), t.form
    expert = (await live.api.get("/tasks", headers=live.parties[EXPERT].headers)).json()
    assert {t["id"] for t in expert}.isdisjoint({str(t.id) for t in mine}), "each party sees its own tasks"


async def test_an_ops_action_answers_the_whole_new_state_and_audits_it(live_mission: LiveMission) -> None:
    """The workflow's JSON of the new state is passed on as it is: it must be exactly a MissionView's."""
    live = live_mission
    ops = live.parties[OPS].headers
    base = f"/ops/missions/{live.mission_id}"
    state = (await live.api.get(f"/missions/{live.mission_id}/state", headers=live.parties[CLIENT_A].headers)).json()
    if state["paused"]:  # left paused by another test: resume it first
        assert (await live.api.post(f"{base}/resume", json={"reason": "tidy up"}, headers=ops)).status_code == 200
    for action, paused in (("pause", True), ("resume", False)):
        answer = await live.api.post(f"{base}/{action}", json={"reason": f"check the {action} answer"}, headers=ops)
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
        view = MissionView.model_validate_json(answer.content)
        assert answer.content == view.model_dump_json().encode(), "the answer is a MissionView, byte for byte"
        assert str(view.mission_id) == live.mission_id and view.paused is paused
        assert view.shortlist or view.selected_expert_id, "the whole state, not a summary"
    wanted = {"check the pause answer", "check the resume answer"}
    for _ in range(100):  # the workflow writes the audit entries a few milliseconds after its answer
        audit = await live.api.get("/ops/audit", params={"target": f"mission:{live.mission_id}"}, headers=ops)
        if wanted <= {e["reason"] for e in audit.json()}:
            break
        await asyncio.sleep(0.05)
    assert wanted <= {e["reason"] for e in audit.json()}, audit.json()


async def test_an_expert_reads_only_their_own_thread(live_mission: LiveMission) -> None:
    live = live_mission
    rival = live.extra["other_experts"][0]
    base = f"/missions/{live.mission_id}/threads"
    expert = live.parties[EXPERT].headers
    own = await live.api.get(f"{base}/{live.parties[EXPERT].member_id}/messages", headers=expert)
    assert own.status_code == 200 and [m["body"] for m in own.json()] == ["Bonjour"]
    other = await live.api.get(f"{base}/{rival.member_id}/messages", headers=expert)
    assert other.status_code == 404
    written = await live.api.post(f"{base}/{rival.member_id}/messages", json={"body": "psst"}, headers=expert)
    assert written.status_code == 404
    state = (await live.api.get(f"/missions/{live.mission_id}/state", headers=rival.headers)).json()
    assert {p["expert_id"] for p in state["proposals"]} == {rival.member_id}  # not the other candidates' prices


async def test_every_portal_form_refuses_a_post_without_the_csrf_token(live_mission: LiveMission) -> None:
    live = live_mission
    forms = [(m, p) for m, p in RULES if m == "POST" and p.startswith("/portal")]
    assert len(forms) >= 10
    for method, template in forms:
        live.api.cookies.clear()
        cookie = f"{ACCESS_COOKIE}={live.tokens[CLIENT_A]}"
        answer = await live.api.request(
            method, _path(live, template, live.mission_id), data={"reason": "forged"}, headers={"Cookie": cookie}
        )
        assert answer.status_code == 403, f"{template}: {answer.status_code}"
