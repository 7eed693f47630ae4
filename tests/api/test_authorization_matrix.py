"""Authorization matrix: every route of the app x every kind of caller, on a real mission (Temporal dev server,
in delivery: contract signed, first milestone delivered, accepted and invoiced), generated from the app's route
table so that a new route cannot escape it.

Callers: anonymous, client of the mission's organisation (A: its admin, and a buyer, an approver and a finance
member the admin invited), client of another organisation (B), the invited
and selected expert, a losing candidate (invited, proposed, not selected), an expert removed from the shortlist
before the invitations, an unrelated expert, ops. Each route is classified in tests/api/matrix_rules.py; an
unclassified route fails.
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
from domain.mission import MissionView
from tests.api.live import LiveMission, secrets
from tests.api.matrix_rules import (
    ANON,
    CLIENT_A,
    CLIENT_B,
    EXPERT,
    KINDS,
    MISSION_KINDS,
    OK,
    OPS,
    OUTSIDERS,
    ROLES,
    RULES,
    UUID0,
    WATCHED,
    Rule,
)

pytestmark = [pytest.mark.db, pytest.mark.devserver]


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
