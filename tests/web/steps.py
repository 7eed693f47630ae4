"""What a person does in the portal, step by step, through the browser."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from urllib.parse import quote

import pyotp
from playwright.sync_api import Page

from api.account_mail import Outbox
from tests.web.conftest import PASSWORD


def fill_address(page: Page, *, country: str = "France") -> None:
    page.get_by_label("Address").fill("1 place de la Bourse")
    page.get_by_label("Postcode").fill("69002")
    page.get_by_label("City").fill("Lyon")
    page.get_by_label("Country", exact=True).select_option(label=country)


def pick_skills(page: Page, *labels: str, search: str | None = None) -> None:
    """Tick skills by their names; `search`: first find them with the search box (a name or a synonym)."""
    first, *others = labels
    if search is not None:  # the search shows only what it found: the first skill is among them
        page.get_by_label("Find a skill").fill(search)
        assert "Skills found" in page.locator("[data-skill-status]").inner_text()
        page.get_by_label(first, exact=True).check()
        page.get_by_label("Find a skill").fill("")
    else:
        page.get_by_label(first, exact=True).check()
    for label in others:
        page.get_by_label(label, exact=True).check()


def register_client(page: Page, email: str, *, organisation: str = "ACME Industrie SAS") -> None:
    page.goto("/portal/register/client")
    page.get_by_label("Full name").fill("Claire Martin")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Password (10+ characters, mixed)").fill(PASSWORD)
    page.get_by_label("Legal name").fill(organisation)
    page.get_by_label("Legal form").fill("SAS")
    page.get_by_label("SIRET (French entities)").fill("52718903900110")
    page.get_by_label("VAT number").fill("FR74527189039")
    page.get_by_label("Billing e-mail").fill("compta@acme.example")
    fill_address(page)
    page.get_by_role("button", name="Register").click()
    page.wait_for_url("**/portal/missions")


def register_expert(page: Page, email: str, *, name: str = "Jean Dupont") -> None:
    page.goto("/portal/register/expert")
    page.get_by_label("Full name").fill(name)
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Password (10+ characters, mixed)").fill(PASSWORD)
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Headline").fill("Finance transformation, FP&A and closing")
    page.get_by_label("Business function").select_option(label="Finance")
    pick_skills(page, "Management control", "Group consolidation")
    page.get_by_label("Languages you work in").select_option(label=["English", "French"])
    page.get_by_label("Daily rate (excl. tax)").fill("850")
    page.get_by_label("Available from").fill(date.today().isoformat())
    page.get_by_label("Legal name").fill(f"{name} EI")
    fill_address(page)
    page.get_by_label("VAT regime").select_option("franchise_en_base")
    page.get_by_label("SIRET (French entities)").fill("44170286700041")
    page.get_by_label("IBAN").fill("FR1420041010050500013M02606")
    page.get_by_label("I mandate the platform").check()
    page.get_by_role("button", name="Register").click()
    page.wait_for_url("**/portal/inbox")


def verify_email(page: Page, outbox: Outbox, email: str) -> None:
    """Open the link of the verification e-mail and confirm, as the person would."""
    page.goto(outbox.link(email, "verify_email"))
    page.get_by_role("button", name="Verify my address").click()
    flash_ok(page)


def follow_mail(page: Page, to: str, subject: str) -> str:
    """Open the development mailbox (`/dev/mailbox`, the catcher's Maildir) at `to`'s e-mails, wait for the one whose
    subject holds `subject`, and follow its link as the person would; the e-mail's text."""
    page.goto(f"/dev/mailbox?to={quote(to)}")
    mail = page.locator("article.card", has=page.locator("h2", has_text=subject))
    until(page, lambda: mail.count() > 0, what=f"the e-mail '{subject}' to {to}")
    text = mail.first.locator("pre").inner_text()
    mail.first.locator("a").first.click()
    return text


def enrol_authenticator(page: Page) -> pyotp.TOTP:
    """Set up an authenticator app on the Security page (the key shown under the QR code); the app."""
    page.goto("/portal/security")
    page.get_by_role("button", name="Set up an authenticator app").click()
    assert page.locator("figure.qr svg").count() == 1
    app = pyotp.TOTP(page.locator("[data-totp-secret]").inner_text())
    page.get_by_label("Authenticator code").fill(app.now())
    page.get_by_role("button", name="Enable").click()
    assert page.locator("[data-recovery-codes] li").count() == 10, "the recovery codes, shown once"
    return app


def sign_contract(page: Page, app: pyotp.TOTP) -> None:
    form = page.locator("form:has(button:has-text('Sign the contract'))").first
    form.get_by_label("Authenticator code").fill(app.now())
    form.get_by_role("button", name="Sign the contract").click()
    flash_ok(page)


def log_in(page: Page, email: str, password: str = PASSWORD, otp: str | None = None) -> None:
    """Log in through the login form; `otp`: the authenticator's code, for an account that enrolled one."""
    page.goto("/portal/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    if otp is not None:
        page.get_by_label("Authenticator code").fill(otp)
    page.get_by_role("button", name="Log in").click()


def post_need(
    page: Page,
    title: str,
    *,
    function: str = "Finance",
    skills: tuple[str, ...] = ("Management control", "Group consolidation"),
    search: str | None = None,
) -> str:
    """Post a need, choosing by names (business function, skills, languages); returns the mission page's path."""
    page.goto("/portal/missions/new")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description").fill("Redesign the monthly close of a mid-size industrial group, in 6 weeks.")
    page.get_by_label("Business function").select_option(label=function)
    pick_skills(page, *skills, search=search)
    page.get_by_label("Languages required").select_option(label="English")
    page.get_by_label("Daily budget, low").fill("600")
    page.get_by_label("Daily budget, high").fill("1200")
    start = date.today() + timedelta(days=14)
    page.get_by_label("Start date").fill(start.isoformat())
    # whatever the browser's own date format, the chosen day is written out in the page's language under the field
    assert page.locator("#f-start_date + .date-echo").inner_text().endswith(f"{start.day}, {start.year}")
    page.get_by_label("Duration (days)").fill("30")
    page.get_by_role("button", name="Post the need").click()
    page.wait_for_url("**/portal/missions/*-*")
    return page.url.split(page.url.split("/portal/")[0])[-1]


def until(page: Page, ready: Callable[[], bool], *, what: str, timeout: float = 90.0) -> None:
    """Reload the page until `ready()` holds: the workflow moves on asynchronously after each action."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}\n{page.inner_text('main')[:2000]}")
        time.sleep(0.5)
        page.reload()


def has(page: Page, selector: str) -> Callable[[], bool]:
    return lambda: page.locator(selector).count() > 0


def flash_ok(page: Page) -> None:
    error = page.locator(".flash-error")
    assert error.count() == 0, error.inner_text()
