"""Page-level behaviour: registration, login, language, CSRF, the public ledger, ops pages, accessibility."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from store.models.community import Expert, User
from tests.web.conftest import PASSWORD, Stack, activate, create_ops_user, shot, unique_email
from tests.web.steps import enrol_authenticator, log_in, register_client, register_expert

pytestmark = [pytest.mark.db, pytest.mark.devserver]

NewContext = Callable[..., BrowserContext]

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label'))
  .map(el => el.outerHTML)"""
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


def check_page(page: Page, name: str) -> None:
    """Every field has a label, nothing overflows the viewport; and a screenshot for people to look at."""
    assert page.evaluate(UNLABELLED) == [], f"{name}: inputs without a label"
    assert page.evaluate(OVERFLOW) <= 0, f"{name}: wider than the screen"
    shot(page, name)


def test_client_registers_sees_pending_membership_and_switches_language(new_context: NewContext) -> None:
    page = new_context().new_page()
    email = unique_email("claire")
    register_client(page, email)
    assert "Your membership is pending" in page.inner_text("main")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["innot_access"]["httpOnly"] and cookies["innot_access"]["sameSite"] == "Lax"
    assert not cookies["innot_access"]["secure"], "secure only over https"
    check_page(page, "client-dashboard-en")

    page.get_by_label("Language").select_option("fr")  # submits its form: wait for the page it leads to
    expect(page.locator("html")).to_have_attribute("lang", "fr", timeout=15_000)
    assert "Votre adhésion est en attente" in page.inner_text("main")
    check_page(page, "client-dashboard-fr")

    page.goto("/portal/missions/new")
    check_page(page, "client-new-need-fr")
    page.get_by_role("button", name="Déconnexion").click()
    page.wait_for_url("**/portal/login")
    page.goto("/portal/missions")
    assert "/portal/login" in page.url, "logged out: the dashboard asks to log in again"


def test_pages_speak_the_language_of_the_browser_then_of_the_cookie(new_context: NewContext, stack: Stack) -> None:
    page = new_context(locale="fr-FR").new_page()
    page.goto("/portal/login")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    expect(page.get_by_role("button", name="Se connecter")).to_be_visible()
    expect(page.get_by_label("Mot de passe")).to_be_visible()

    page = new_context(locale="en-GB").new_page()
    log_in(page, create_ops_user(stack.sessions))
    page.wait_for_url("**/portal/security")  # ops pages open once the second factor is enrolled
    enrol_authenticator(page)
    page.goto("/portal/ops/missions")
    stages = page.get_by_label("Stage", exact=True).locator("option").all_inner_texts()
    assert {"Shortlist", "Needs attention", "Closed"} <= set(stages)
    page.goto("/portal/ops/charts")
    expect(page.locator("svg.chart").first).to_have_attribute("aria-label", "Missions per stage")

    page.context.add_cookies([{"name": "innot_lang", "value": "fr", "url": stack.base_url}])
    page.goto("/portal/ops/missions")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    stages = page.get_by_label("Étape", exact=True).locator("option").all_inner_texts()
    assert {"Présélection", "À traiter", "Clôturée"} <= set(stages)
    assert "Shortlist" not in stages
    expect(page.get_by_role("link", name="Journal d'audit")).to_be_visible()
    page.goto("/portal/ops/charts")
    expect(page.locator("svg.chart").first).to_have_attribute("aria-label", "Missions par étape")


def test_login_refuses_a_wrong_password_then_lets_the_member_in(new_context: NewContext, stack: Stack) -> None:
    page = new_context().new_page()
    email = unique_email("bob")
    register_client(page, email)
    page.context.clear_cookies()
    log_in(page, email, "Wrong-Passw0rd!")
    assert "Wrong e-mail or password" in page.locator(".flash-error").inner_text()
    check_page(page, "login-error")
    log_in(page, email)
    page.wait_for_url("**/portal/missions")
    assert page.get_by_role("heading", name="My missions").is_visible()


def test_expert_registration_requires_the_billing_mandate(new_context: NewContext, stack: Stack) -> None:
    page = new_context().new_page()
    page.goto("/portal/register/expert")
    check_page(page, "register-expert")
    # the browser enforces `required`; remove it to show that the server refuses too
    page.evaluate("document.querySelector('#f-billing_mandate_accepted').removeAttribute('required')")
    email = unique_email("nomandate")
    for label, value in (
        ("Full name", "Ana Lopez"),
        ("Password (10+ characters, mixed)", PASSWORD),
        ("Display name", "Ana Lopez"),
        ("Daily rate (excl. tax)", "700"),
        ("Available from", "2030-01-01"),
        ("Legal name", "Ana Lopez EI"),
        ("Address", "5 rue des Lilas"),
        ("Postcode", "33000"),
        ("City", "Bordeaux"),
        ("SIRET (French entities)", "73282932000074"),
        ("IBAN", "FR1420041010050500013M02606"),
    ):
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Business function").select_option(label="Finance")  # its skills unfold
    page.get_by_label("Budgeting and forecasting", exact=True).check()
    page.get_by_label("Languages you work in").select_option(label="English")
    page.get_by_label("Country", exact=True).select_option(label="France")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_role("button", name="Register").click()
    assert "billing mandate must be accepted" in page.locator(".flash-error").inner_text()
    assert page.get_by_label("Display name").input_value() == "Ana Lopez", "the form keeps what was typed"


def test_a_us_expert_registers_with_an_ein_and_an_aba_routed_account(new_context: NewContext, stack: Stack) -> None:
    """No IBAN in the US: the portal takes the tax identifier and the bank details of the expert's country, and a
    wrong value is named under its own field, in the member's language."""
    page = new_context(locale="fr-FR").new_page()
    page.goto("/portal/register/expert")
    check_page(page, "register-expert-fr")
    email = unique_email("us-expert")
    for label, value in (
        ("Nom complet", "Mary Walker"),
        ("Mot de passe (10 caractères et plus, variés)", PASSWORD),
        ("Nom affiché", "Mary Walker"),
        ("Taux journalier (HT)", "1200"),
        ("Disponible à partir du", "2030-01-01"),
        ("Raison sociale", "Walker Advisory LLC"),
        ("Forme juridique", "LLC"),
        ("Adresse", "500 Market St"),
        ("Code postal", "94105"),
        ("Ville", "San Francisco"),
        ("Autre identifiant fiscal (EIN américain, BN canadien…)", "12-3456789"),
        ("Numéro de compte (hors SEPA)", "000123456789"),
        ("Numéro de routage ABA (États-Unis)", "021000022"),  # a wrong check digit
    ):
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Fonction", exact=True).select_option(label="Finance")
    page.get_by_label("Budget et prévisions", exact=True).check()
    page.get_by_label("Langues de travail").select_option(label="Anglais")
    page.get_by_label("Pays", exact=True).select_option(label="États-Unis")
    page.get_by_label("Devise").select_option(label="USD — dollar des États-Unis")
    page.get_by_label("Régime de TVA").select_option("non_eu")
    page.get_by_label("Je mandate la plateforme").check()
    page.get_by_role("button", name="S'inscrire").click()

    routing = page.get_by_label("Numéro de routage ABA (États-Unis)", exact=True)
    expect(routing).to_have_attribute("aria-invalid", "true")
    assert "ABA routing number" in page.locator("[data-field-error=aba_routing]").inner_text()
    assert page.locator("[data-field-error]").count() == 1, "only the wrong field is marked"
    assert page.get_by_label("Autre identifiant fiscal", exact=False).input_value() == "12-3456789", "kept as typed"
    check_page(page, "register-expert-error-fr")

    page.get_by_label("Mot de passe (10 caractères et plus, variés)").fill(PASSWORD)
    routing.fill("021000021")
    page.get_by_label("Je mandate la plateforme").check()
    page.get_by_role("button", name="S'inscrire").click()
    page.wait_for_url("**/portal/inbox")
    with stack.sessions() as session:
        expert = session.scalars(
            select(Expert).join(User, User.expert_id == Expert.id).where(User.email == email)
        ).one()
        stored = (expert.country, expert.vat_regime, expert.tax_id, expert.iban, expert.account_number)
        assert stored == ("US", "non_eu", "12-3456789", None, "000123456789")
        assert expert.aba_routing == "021000021"


def test_a_post_without_the_csrf_token_is_refused(new_context: NewContext, stack: Stack) -> None:
    page = new_context().new_page()
    email = unique_email("csrf")
    register_client(page, email)
    activate(stack.sessions, email)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    need = {"title": "Forged need", "description": "x" * 30, "business_function": "finance"}
    with httpx.Client(base_url=stack.base_url, cookies=cookies) as http:
        missing = http.post("/portal/missions/new", data=need)
        forged = http.post("/portal/missions/new", data=need | {"csrf_token": "abc.def"})
    with httpx.Client(base_url=stack.base_url, cookies={"innot_csrf": "x.y"}) as http:
        other = http.post("/portal/login", data={"email": email, "password": PASSWORD, "csrf_token": "x.y"})
    assert missing.status_code == 403 and forged.status_code == 403
    assert other.status_code == 403, "a cookie the attacker planted is not signed with our key"
    page.goto("/portal/missions")
    assert "Forged need" not in page.inner_text("main")


def test_transparency_page_shows_zero_commission_and_offers_the_csv(new_context: NewContext) -> None:
    page = new_context(viewport={"width": 375, "height": 812}).new_page()
    page.goto("/transparency")
    assert page.locator("[data-commission]").inner_text() == "0.00"
    assert page.locator("svg.chart").count() == 2
    check_page(page, "transparency-phone")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the ledger (CSV)").click()
    text = download.value.path().read_text(encoding="utf-8")
    assert text.startswith("period,community,kind,currency,count,total,commission")


def test_ops_pages_list_filter_and_chart_missions(new_context: NewContext, stack: Stack) -> None:
    page = new_context().new_page()
    log_in(page, create_ops_user(stack.sessions))
    page.wait_for_url("**/portal/security")  # ops pages open once the second factor is enrolled
    enrol_authenticator(page)
    page.goto("/portal/ops/missions")
    check_page(page, "ops-missions")
    page.get_by_label("Stage").select_option("needs_attention")
    page.get_by_role("button", name="Filter").click()
    assert "stage=needs_attention" in page.url
    page.goto("/portal/ops/attention")
    check_page(page, "ops-attention")
    page.goto("/portal/ops/charts")
    assert page.locator("svg.chart").count() == 2
    check_page(page, "ops-charts")
    page.goto("/portal/ops/audit")
    check_page(page, "ops-audit")
    page.goto("/portal/missions/new")
    assert re.search(r"/portal/ops/missions$", page.url), "a client page sends ops back home"


def test_keyboard_reaches_the_login_form_with_visible_focus(new_context: NewContext) -> None:
    page = new_context().new_page()
    page.goto("/portal/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "f-email":
            break
    assert page.evaluate("document.activeElement.id") == "f-email"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid", "focus is visible"
    shot(page, "login-focus")
    register_expert  # noqa: B018 - imported for the other modules' use
