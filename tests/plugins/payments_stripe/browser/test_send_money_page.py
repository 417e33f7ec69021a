"""The "Send money" amount picker and breakdown on a creator's profile, in Chromium.

Stripe.js cannot load on these machines (and tests talk only to 127.0.0.0/8), so its
address is blocked: the test stops at the breakdown and the created PaymentIntent,
and checks that the page says the card form could not load."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Route, expect

from salon.plugins.payments_stripe.fees import FeeRule, gross_up
from tests.helpers import PASSWORD

from ..payments_helpers import Payments

pytestmark = pytest.mark.browser

USD = FeeRule(bp=290, fixed=30)


def test_amount_picker_breakdown_and_payment_intent(browser: Browser, payments: Payments) -> None:
    carol = payments.creator("carol")
    context = browser.new_context(base_url=payments.server.url, locale="en-US")
    errors: list[str] = []
    blocked: list[str] = []

    def block(route: Route) -> None:
        blocked.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), block)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        r = page.request.post("/api/auth/signup", data={"username": "dan", "password": PASSWORD})
        assert r.status == 201, r.text()
        page.goto("/users/carol")
        widget = page.locator("#profile-extras .send-money")
        expect(widget.get_by_role("heading", name="Send money to @carol")).to_be_visible()
        total = widget.locator('[data-part="total"]')
        # A preset amount: the breakdown comes from the server's quote.
        widget.get_by_role("button", name="$5.00").click()
        expect(widget.get_by_role("button", name="$5.00")).to_have_attribute("aria-pressed", "true")
        gross = gross_up(500, USD)
        expect(total).to_have_text(f"${gross / 100:.2f}")
        expect(widget.locator('[data-part="amount"]')).to_have_text("$5.00")
        expect(widget.locator('[data-part="fee"]')).to_have_text(f"${(gross - 500) / 100:.2f}")
        # A custom amount, a bad one, then a good one.
        custom = widget.get_by_label("Other amount")
        custom.fill("0.5")
        expect(custom).to_have_attribute("aria-invalid", "true")
        expect(widget.locator('[data-part="status"]')).to_contain_text("amount must be between")
        expect(widget.get_by_role("button", name="Continue to payment")).to_be_disabled()
        custom.fill("abc")
        expect(widget.locator('[data-part="status"]')).to_contain_text("Enter an amount between")
        custom.fill("12.34")
        gross = gross_up(1234, USD)
        expect(total).to_have_text(f"${gross / 100:.2f}")
        expect(widget.get_by_role("button", name="$5.00")).to_have_attribute(
            "aria-pressed", "false"
        )
        widget.get_by_label("Hide my name from @carol").check()
        widget.get_by_role("button", name="Continue to payment").click()
        expect(widget).to_have_attribute("data-payment-intent", re.compile(r"^pi_"))
        expect(widget.locator('[data-part="status"]')).to_contain_text("card form could not load")
        # In carol's room, the same picker for whoever is on stage and can receive.
        room = carol.open_room("Carol live")
        page.goto(f"/rooms/{room['id']}")
        page.get_by_role("button", name="Send money to @carol").click()
        in_room = page.locator("#room-extras .send-money")
        in_room.get_by_role("button", name="$3.00").click()
        expect(in_room.locator('[data-part="total"]')).to_have_text(
            f"${gross_up(300, USD) / 100:.2f}"
        )
    finally:
        context.close()
    assert not errors, errors
    assert any("js.stripe.com" in url for url in blocked), blocked
    # The PaymentIntent exists at Stripe: the grossed-up total, exactly X to carol.
    intent_id = payments.sql("SELECT payment_intent_id FROM payments_stripe_payment")[0][0]
    intent = payments.stripe.intent(intent_id)
    assert intent.amount == gross and intent.transfer_data.amount == 1234
    assert intent.status == "requires_payment_method"
    assert payments.sql("SELECT amount, gross, anonymous, state FROM payments_stripe_payment") == [
        (1234, gross, True, "created")
    ]
    assert carol.get("/api/payments_stripe/earnings").json()["total"] == 0
