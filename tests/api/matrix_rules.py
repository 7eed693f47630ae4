"""The authorization matrix's table (tests/api/test_authorization_matrix.py): the callers, the kinds of route with
what each caller gets, and the rule of every route of the app. A new route is classified here, or the matrix fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cli.demo import need, proposal

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
    ("GET", "/portal/ops/members/{member_id}"): Rule("portal-page"),  # other roles are sent home (303)
    # a proof, through the API's audited read: the document given here is none of the member's proofs (404)
    ("GET", "/portal/ops/members/{member_id}/documents/{document_id}"): Rule("portal-page", ok=(303, 404)),
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
    # as the API's evidence route: the matrix's document is an invoice, no evidence: 404 for whoever gets through
    ("GET", "/portal/missions/{mission_id}/evidence/{document_id}"): Rule("portal-mission", ok=404),
    ("POST", "/portal/missions/{mission_id}/act/{update}"): Rule("portal-mission-form", body=REASON),
    ("POST", "/portal/missions/{mission_id}/milestones/{number}/deliverable"): Rule("portal-mission-form"),
    ("POST", "/portal/missions/{mission_id}/milestones/{number}/{update}"): Rule("portal-mission-form", body=REASON),
    ("POST", "/portal/missions/{mission_id}/disputes/{number}/{update}"): Rule("portal-mission-form", body=REASON),
    ("POST", "/portal/missions/{mission_id}/threads/{expert_id}"): Rule("portal-mission-form", body={"body": "hi"}),
}
