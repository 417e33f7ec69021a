"""Deleting an account from the settings page, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.helpers import PASSWORD, LiveServer

from .test_web_client import sign_up

pytestmark = pytest.mark.browser


def test_delete_my_account_from_settings(browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(base_url=server.url, locale="en-US", timezone_id="UTC")
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_up(page, "dora", "Dora")
        page.goto("/settings")
        password = page.get_by_label("Password")
        confirm = page.get_by_label("I understand my account is gone for good")
        delete = page.get_by_role("button", name="Delete my account")
        flash = page.locator("#flash")

        # Without the confirmation, nothing is sent.
        password.fill(PASSWORD)
        delete.click()
        expect(flash).to_have_text("Tick the box to confirm.")
        expect(confirm).to_be_focused()
        # A wrong password: the server's message, on the password field.
        password.fill("not my password")
        confirm.check()
        delete.click()
        expect(flash).to_have_text("the password is wrong")
        expect(password).to_have_attribute("aria-invalid", "true")

        password.fill(PASSWORD)
        delete.click()
        expect(page).to_have_url(re.compile(r"/$"))
        expect(page.get_by_role("link", name="Log in")).to_be_visible()
        expect(page.get_by_role("link", name="@dora")).to_have_count(0)
        with server.client() as anonymous:
            assert anonymous.get("/api/users/dora").status_code == 404
        assert not errors, errors
    finally:
        context.close()
