"""A member's data in the browser (GDPR): an expert downloads it from the Security page (a zip with data.json),
then erases it: asked for the password and the authenticator code, logged out, and unable to log in again."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext

from tests.web.conftest import PASSWORD, Stack, shot, unique_email
from tests.web.steps import enrol_authenticator, flash_ok, log_in, register_expert, verify_email

pytestmark = [pytest.mark.db, pytest.mark.devserver, pytest.mark.slow]


def test_an_expert_downloads_then_erases_their_data(new_context: Callable[..., BrowserContext], stack: Stack) -> None:
    page = new_context().new_page()
    email = unique_email("erin")
    register_expert(page, email, name="Erin Leave")
    verify_email(page, stack.outbox, email)
    app = enrol_authenticator(page)

    page.goto("/portal/security")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data (zip)").click()
    assert download.value.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(download.value.path().read_bytes())) as archive:
        data = json.loads(archive.read("data.json"))
    assert data["account"]["email"] == email and data["expert_profile"]["display_name"] == "Erin Leave"
    assert data["expert_profile"]["bank"]["iban"] == "FR1420041010050500013M02606"

    shot(page, "security-my-data")
    page.on("dialog", lambda dialog: dialog.accept())  # the portal asks to confirm a destructive button
    form = page.locator("form[action='/portal/security/erase']")
    form.get_by_label("Password").fill("not my password")
    form.get_by_label("Authenticator code").fill(app.now())
    form.get_by_label("I understand that my account is closed for good").check()
    form.get_by_role("button", name="Erase my data").click()
    shot(page, "security-erase-refused")
    assert "password" in page.locator(".flash-error").inner_text(), "a wrong password erases nothing"

    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_label("Authenticator code").fill(app.now())
    form.get_by_label("I understand that my account is closed for good").check()
    form.get_by_role("button", name="Erase my data").click()
    page.wait_for_url("**/portal/login")
    flash_ok(page)
    assert "Your data was erased and your account closed." in page.locator(".flash").inner_text()

    log_in(page, email, otp=app.now())
    assert page.locator(".flash-error, [role=alert]").count() > 0 and "/portal/login" in page.url
