"""Every portal page, for every audience, in both languages, on a phone (390 px) and a desktop (1280 px): no serious
or critical axe-core violation, no horizontal scrolling, every field labelled, the skip link first in the keyboard
order, every control reached by Tab with a visible focus; and a screenshot of each under var/screenshots/pages/ for
people to look at.

The pages come from the app's routes, so that a new page is checked without touching this file; a page whose path
needs a mission id gets the mission the demo parties start here (cli/demo.py: a client, three experts, their need).
One browser context per width and language visits them all, as each audience in turn (its cookies swapped in)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from playwright.sync_api import Browser, BrowserContext, Page

from api.deps import ACCESS_COOKIE
from api.web.i18n import LANG_COOKIE, LANGUAGES
from api.web.routes import router as web_router
from cli import demo
from config.settings import ROOT
from tests.web.conftest import PASSWORD, SCREENSHOTS, Stack, activate, create_ops_user

pytestmark = [pytest.mark.db, pytest.mark.devserver]

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
BLOCKING = ("serious", "critical")
AUDIENCES = ("anonymous", "client", "expert", "ops")

# what the page shows: axe's serious and critical violations, fields without a label, the horizontal overflow
INSPECT = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  const blocking = result.violations.filter(v => %s.includes(v.impact)).map(v =>
    `${v.impact} ${v.id}: ${v.help} -> ` + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
  const unlabelled = [...document.querySelectorAll('input, select, textarea')]
    .filter(el => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label'))
    .map(el => el.outerHTML.slice(0, 120));
  // the outermost elements past the right edge, to name what makes the page scroll sideways
  const beyond = el => el.getBoundingClientRect().right > window.innerWidth + 1;
  const past = [...document.querySelectorAll('body *')]
    .filter(el => beyond(el) && !el.closest('.table-wrap') && !(el.parentElement && beyond(el.parentElement)));
  const wide = past.slice(0, 3).map(el => el.outerHTML.slice(0, 100));
  return {blocking, unlabelled, overflow: document.documentElement.scrollWidth - window.innerWidth, wide};
}""" % list(BLOCKING)  # noqa: UP031 - the braces are JavaScript's


CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea, summary"
# before walking the page with Tab: remember each element the keyboard reaches, and whether its focus shows
WATCH_FOCUS = """() => {
  window.__unseen = [];
  document.addEventListener('focusin', e => {
    const el = e.target, style = getComputedStyle(el);
    el.setAttribute('data-reached', '');
    if (style.outlineStyle === 'none' && style.boxShadow === 'none') window.__unseen.push(el.outerHTML.slice(0, 100));
  });
  return document.querySelectorAll(CONTROLS).length;
}""".replace("CONTROLS", repr(CONTROLS))
# after the walk: the visible, enabled controls the keyboard never reached, and the focus nobody could see
UNREACHED = """() => ({
  unreached: [...document.querySelectorAll(CONTROLS)]
    .filter(el => !el.disabled && el.checkVisibility() && !el.hasAttribute('data-reached'))
    .map(el => el.outerHTML.slice(0, 120)),
  unseen: window.__unseen,
})""".replace("CONTROLS", repr(CONTROLS))


@dataclass
class Audience:
    name: str
    cookies: dict[str, str]  # what the browser holds once this person logged in (none for anonymous)


def page_paths(mission_id: str) -> list[str]:
    """Every HTML page the portal serves (GET routes), with the demo mission's id where the path needs one; routes
    with another parameter (a document, a notice) are files or actions reached from those pages."""
    portal = FastAPI()
    portal.include_router(web_router)
    paths = []
    for route in iter_route_contexts(portal.routes):
        if not isinstance(route.original_route, APIRoute) or "GET" not in (route.methods or ()):
            continue
        if str(route.path).endswith((".csv", "/export")):  # downloads (a CSV, the member's data as a zip)
            continue
        path = str(route.path).replace("{mission_id}", mission_id)
        if "{" not in path:
            paths.append(path)
    return sorted(set(paths))


async def _seed(stack: Stack) -> tuple[str, list[Audience]]:
    """The demo's client and experts (registered, verified, enrolled, their memberships active), an ops account, and
    the client's need: a mission the matching works on."""
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as api:
        client, experts = await demo.register_parties(api, uuid.uuid4().hex[:8], stack.outbox)
        for party in (client, *experts):
            activate(stack.sessions, party.email)
        ops_email = create_ops_user(stack.sessions)
        tokens = (await api.post("/auth/login", json={"email": ops_email, "password": PASSWORD})).json()
        ops_headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        secret = (await api.post("/auth/totp/setup", headers=ops_headers)).json()["secret"]
        enabled = await api.post("/auth/totp/enable", json={"code": pyotp.TOTP(secret).now()}, headers=ops_headers)
        assert enabled.status_code == 200, enabled.text
        created = await api.post("/missions", json=demo.need(), headers=client.headers)
        assert created.status_code == 201, created.text
        mission_id = str(created.json()["mission_id"])
        for _ in range(120):  # the shortlist makes the mission page fuller; the checks run whatever the stage
            seen = await api.get(f"/missions/{mission_id}", headers=client.headers)
            if seen.status_code == 200 and seen.json().get("stage") not in ("need", "qualification"):
                break
            await asyncio.sleep(0.5)

    def token(headers: dict[str, str]) -> dict[str, str]:
        return {ACCESS_COOKIE: headers["Authorization"].removeprefix("Bearer ")}

    audiences = [
        Audience("anonymous", {}),
        Audience("client", token(client.headers)),
        Audience("expert", token(experts[0].headers)),
        Audience("ops", token(ops_headers)),
    ]
    return mission_id, audiences


@pytest.fixture(scope="module")
def seeded(stack: Stack) -> tuple[str, list[Audience]]:
    # a thread of its own: Playwright's sync API may hold this thread's event loop
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _seed(stack)).result()


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} missing: run `make node_modules` (npm ci, pinned in package.json)")
    return AXE.read_text(encoding="utf-8")


def _visit(page: Page, path: str, axe_source: str) -> dict[str, Any] | None:
    """The findings on this page, or None when the page is not this audience's (sent elsewhere) or not HTML."""
    response = page.goto(path)
    assert response is not None
    if not page.url.split("?")[0].endswith(path) or "text/html" not in (response.headers.get("content-type") or ""):
        return None
    page.add_script_tag(content=axe_source)
    found: dict[str, Any] = page.evaluate(INSPECT)
    stops = page.evaluate(WATCH_FOCUS)
    page.keyboard.press("Tab")
    found["first_focus"] = page.evaluate("document.activeElement.className")
    for n in range(3 * stops + 20):  # round the page (a date field has three stops): every control on the way
        page.keyboard.press("Tab")
        if n % 10 == 9 and not page.evaluate(UNREACHED)["unreached"]:
            break
    found |= page.evaluate(UNREACHED)
    page.evaluate("document.activeElement.blur()")  # the screenshot shows the page, not a focused control
    return found


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower().replace(str(uuid.UUID(int=0)), "")).strip("-") or "root"


@pytest.fixture
def contexts(browser: Browser, stack: Stack) -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_is_accessible_at_every_width(
    width: str,
    lang: str,
    browser: Browser,
    stack: Stack,
    seeded: tuple[str, list[Audience]],
    axe_source: str,
    contexts: list[BrowserContext],
) -> None:
    mission_id, audiences = seeded
    paths = page_paths(mission_id)
    context = browser.new_context(base_url=stack.base_url, viewport=WIDTHS[width], locale=lang)  # type: ignore[arg-type]
    context.set_default_timeout(20_000)
    contexts.append(context)
    page = context.new_page()
    problems: list[str] = []
    checked = 0
    (SCREENSHOTS / "pages").mkdir(parents=True, exist_ok=True)
    public: set[str] = set()  # pages anonymous people open: checked once, not again under each account
    for audience in audiences:
        context.clear_cookies()
        cookies = {LANG_COOKIE: lang} | audience.cookies
        context.add_cookies([{"name": k, "value": v, "url": stack.base_url} for k, v in cookies.items()])
        for path in paths:
            if path in public:
                continue
            found = _visit(page, path, axe_source)
            if found is None:
                continue
            checked += 1
            if audience.name == "anonymous":
                public.add(path)
            where = f"{audience.name} {path} ({lang}, {width})"
            problems += [f"{where}: {v}" for v in found["blocking"]]
            problems += [f"{where}: no label: {html}" for html in found["unlabelled"]]
            if found["overflow"] > 0:
                problems.append(f"{where}: {found['overflow']} px wider than the screen: {found['wide']}")
            problems += [f"{where}: the keyboard never reaches {html}" for html in found["unreached"]]
            problems += [f"{where}: focus not visible on {html}" for html in found["unseen"]]
            if found["first_focus"] != "skip":
                problems.append(f"{where}: the first Tab reaches {found['first_focus']!r}, not the skip link")
            name = f"{audience.name}-{_slug(path.replace(mission_id, 'mission'))}-{lang}-{width}"
            page.screenshot(path=str(SCREENSHOTS / "pages" / f"{name}.png"), full_page=True)
    assert checked >= 12, f"only {checked} pages checked: the audiences' logins did not hold"
    assert not problems, "\n".join(problems)
