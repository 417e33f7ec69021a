"""End to end over HTTP: onboarding, a payment reaching the creator exactly, a failed
card, a payment that settles later, refunds and disputes, each leaving the ledger
balanced and the payment in the right state."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import stripe

from salon.plugins.payments_stripe.fees import FeeRule, fee, gross_up
from tests.helpers import free_port

from .payments_helpers import Payments

USD = FeeRule(bp=290, fixed=30)


def test_onboarding_then_a_payment_reaches_the_creator_exactly(payments: Payments) -> None:
    """account.updated and payment_intent.succeeded: the creator gets X, the payer
    pays the grossed-up total, the ledger records the real fee and the variance."""
    side = payments.stripe
    carol = payments.user("carol")
    # Before onboarding: the profile says so, and nobody can pay her.
    assert carol.get("/api/users/carol").json()["extras"]["payments"]["onboarding"] == "none"
    assert carol.get("/api/payments_stripe/account").json()["status"] == "none"
    r = carol.post("/api/payments_stripe/onboarding")
    link = r.json()["url"]
    assert carol.get("/api/payments_stripe/account").json()["status"] == "pending"
    assert carol.get("/api/users/carol").json()["extras"]["payments"]["onboarding"] == "pending"
    dan = payments.user("dan")
    r = dan.post("/api/payments_stripe/payments", {"creator": "carol", "amount": 1000})
    assert r.status_code == 409 and r.json()["error"]["field"] == "creator", r.text
    # Carol completes Stripe's hosted onboarding; account.updated enables her.
    import httpx

    with httpx.Client() as browser:
        assert browser.post(link).status_code == 303
    assert carol.get("/api/payments_stripe/account").json() == {
        "status": "enabled",
        "charges_enabled": True,
        "payouts_enabled": True,
        "details_submitted": True,
    }
    assert side.events("account.updated")
    profile = dan.get("/api/users/carol").json()["extras"]["payments"]
    assert profile["can_receive"] and profile["can_send"] and profile["currency"] == "usd"
    dashboard = carol.post("/api/payments_stripe/dashboard")
    assert dashboard.status_code == 200 and dashboard.json()["url"].startswith(side.url)

    # The breakdown before paying, then the PaymentIntent.
    quote = dan.get("/api/payments_stripe/quote", params={"amount": 1000}).json()
    gross = gross_up(1000, USD)
    assert quote == {
        "amount": 1000,
        "fee": gross - 1000,
        "total": gross,
        "currency": "usd",
        "exponent": 2,
    }
    started = payments.pay(dan, carol, 1000, request_id="dan-pays-carol-1")
    assert started["state"] == "created" and started["total"] == gross
    assert started["client_secret"].startswith(started["payment_intent_id"])
    assert started["publishable_key"] == "pk_test_salon_local"
    # A retried request (same request_id) is the same payment and the same charge.
    again = payments.pay(dan, carol, 1000, request_id="dan-pays-carol-1")
    assert (
        again["id"] == started["id"] and again["payment_intent_id"] == started["payment_intent_id"]
    )
    assert side.get("/_test/counts")["payment_intent"] == 1

    side.confirm(started["payment_intent_id"])
    done = payments.payment(dan, started["id"])
    assert done["state"] == "succeeded"
    intent = side.intent(started["payment_intent_id"])
    charge = intent.latest_charge
    assert intent.amount == gross and charge.amount == gross
    assert intent.transfer_data.amount == 1000 and charge.transfer.amount == 1000
    real_fee = charge.balance_transaction.fee
    assert done["fee_actual"] == real_fee
    expected = {
        "payers": -gross,
        "creators": 1000,
        "stripe_fees": real_fee,
        "fee_variance": gross - 1000 - real_fee,
    }
    assert payments.balances(started["id"]) == {k: v for k, v in expected.items() if v}
    assert gross - fee(gross, USD) >= 1000
    payments.assert_balanced()
    # Every line names the Stripe object and the event that caused it.
    (event,) = side.events("payment_intent.succeeded")
    assert {row[5] for row in payments.entries(started["id"])} == {event["id"]}
    assert payments.entries(started["id"])[0][0] == f"charge:{charge.id}"

    # What people see.
    earnings = carol.get("/api/payments_stripe/earnings").json()
    assert earnings["total"] == 1000 and earnings["by_payer"] == [{"payer": "dan", "amount": 1000}]
    receipts = dan.get("/api/payments_stripe/receipts").json()["receipts"]
    assert [(r["creator"], r["amount"], r["total"], r["state"]) for r in receipts] == [
        ("carol", 1000, gross, "succeeded")
    ]
    assert "10.00 USD" in carol.get("/payments").text
    assert any(f"gross={gross}" in line and "X=1000" in line for line in side.get("/_test/log"))


def test_fee_variance_is_booked_when_stripe_takes_more(payments: Payments) -> None:
    payments.stripe.control("/_test/config", {"fee_bp": 340, "fee_fixed": 30})
    carol, dan = payments.creator("carol"), payments.user("dan")
    started = payments.pay(dan, carol, 2500, anonymous=True)
    payments.stripe.confirm(started["payment_intent_id"])
    gross = started["total"]
    real_fee = (2 * gross * 340 + 10000) // 20000 + 30
    assert payments.balances(started["id"])["fee_variance"] == gross - 2500 - real_fee < 0
    assert payments.balances(started["id"])["creators"] == 2500
    admin = payments.admin("root")
    summary = admin.get("/api/payments_stripe/admin/summary").json()
    assert summary["fee_variance"] == {"usd": gross - 2500 - real_fee}
    assert summary["balanced"] is True
    csv = admin.get("/api/payments_stripe/admin/ledger.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert lines[0].startswith("entry_id,txn_id,key,kind") and len(lines) == 1 + 4
    page = admin.get("/payments/admin")
    assert page.status_code == 200 and "Fee variance" in page.text
    # The payer chose to stay anonymous: the creator's earnings do not name him.
    assert carol.get("/api/payments_stripe/earnings").json()["by_payer"] == [
        {"payer": "anonymous", "amount": 2500}
    ]


def test_a_declined_card_fails_then_a_good_card_succeeds(payments: Payments) -> None:
    """payment_intent.payment_failed, then payment_intent.succeeded on the same intent."""
    carol, dan = payments.creator("carol"), payments.user("dan")
    started = payments.pay(dan, carol, 700)
    with pytest.raises(stripe.CardError):
        payments.stripe.confirm(started["payment_intent_id"], "pm_card_chargeDeclined")
    failed = payments.payment(dan, started["id"])
    assert failed["state"] == "failed" and "declined" in failed["failure_message"]
    assert payments.entries(started["id"]) == []
    payments.stripe.confirm(started["payment_intent_id"], "pm_card_visa")
    assert payments.payment(dan, started["id"])["state"] == "succeeded"
    payments.assert_balanced()


def test_a_processing_payment_settles_later(payments: Payments) -> None:
    """payment_intent.processing, then payment_intent.succeeded."""
    carol, dan = payments.creator("carol"), payments.user("dan")
    started = payments.pay(dan, carol, 1500)
    payments.stripe.confirm(started["payment_intent_id"], "pm_usBankAccount")
    assert payments.payment(dan, started["id"])["state"] == "processing"
    assert payments.entries(started["id"]) == []
    payments.stripe.control(f"/_test/payment_intents/{started['payment_intent_id']}/settle")
    assert payments.payment(dan, started["id"])["state"] == "succeeded"
    assert payments.balances(started["id"])["creators"] == 1500


def paid(payments: Payments, amount: int) -> tuple[dict, object, object]:
    carol, dan = payments.creator("carol"), payments.user("dan")
    started = payments.pay(dan, carol, amount)
    payments.stripe.confirm(started["payment_intent_id"])
    return started, carol, dan


def test_partial_then_full_refund_reverses_the_transfer(payments: Payments) -> None:
    """charge.refunded and transfer.reversed, partial then full."""
    started, _carol, dan = paid(payments, 2000)
    gross, pid = started["total"], started["id"]
    admin = payments.admin("root")
    # Only admins refund, and not more than was paid.
    assert (
        dan.post(f"/api/payments_stripe/payments/{pid}/refund", {"amount": 100}).status_code == 403
    )
    r = admin.post(f"/api/payments_stripe/payments/{pid}/refund", {"amount": gross + 1})
    assert r.status_code == 422 and r.json()["error"]["field"] == "amount", r.text
    r = admin.post(f"/api/payments_stripe/payments/{pid}/refund", {"amount": 1000})
    assert r.status_code == 200 and r.json()["status"] == "succeeded", r.text
    assert payments.payment(dan, pid)["state"] == "partially_refunded"
    share = (2 * 1000 * 2000 + gross) // (2 * gross)
    after_partial = payments.balances(pid)
    assert after_partial["payers"] == -gross + 1000
    assert after_partial["creators"] == 2000 - share
    payments.assert_balanced()
    r = admin.post(f"/api/payments_stripe/payments/{pid}/refund", {})
    assert r.status_code == 200 and r.json()["amount"] == gross - 1000, r.text
    assert payments.payment(dan, pid)["state"] == "refunded"
    final = payments.balances(pid)
    assert final["payers"] == 0 and final["creators"] == 0
    assert payments.stripe.events("transfer.reversed") and payments.stripe.events("charge.refunded")
    payments.assert_balanced()
    # A refunded payment cannot be refunded again.
    assert admin.post(f"/api/payments_stripe/payments/{pid}/refund", {}).status_code == 409


@pytest.mark.parametrize("outcome", ["lost", "won"])
def test_a_dispute_opened_and_closed(payments: Payments, outcome: str) -> None:
    """charge.dispute.created and charge.dispute.closed; a lost dispute takes the
    transfer back from the creator (transfer.reversed)."""
    started, _carol, dan = paid(payments, 1200)
    gross, pid = started["total"], started["id"]
    charge_id = payments.stripe.intent(started["payment_intent_id"]).latest_charge.id
    dispute = payments.stripe.control(f"/_test/charges/{charge_id}/dispute")
    assert payments.payment(dan, pid)["state"] == "disputed"
    opened = payments.balances(pid)
    assert opened["payers"] == 0  # the payer's bank took the charge back
    assert opened["stripe_fees"] == started["fee_actual"] if started["fee_actual"] else True
    payments.assert_balanced()
    payments.stripe.control(f"/_test/disputes/{dispute['id']}/close", {"status": outcome})
    state = payments.payment(dan, pid)
    assert state["state"] == f"dispute_{outcome}"
    closed = payments.balances(pid)
    if outcome == "lost":
        assert closed["payers"] == 0 and closed["creators"] == 0
        assert payments.stripe.events("transfer.reversed")
    else:
        assert closed["payers"] == -gross and closed["creators"] == 1200
    payments.assert_balanced()


def test_limits_and_permissions(
    payments: Payments, start_payments: Callable[..., Payments]
) -> None:
    carol, dan = payments.creator("carol"), payments.user("dan")
    cases = [
        (carol, {"creator": "carol", "amount": 1000}, 403, None),  # oneself
        (dan, {"creator": "carol", "amount": 99}, 422, "amount"),
        (dan, {"creator": "carol", "amount": 100_001}, 422, "amount"),
        (dan, {"creator": "carol", "amount": "ten"}, 422, "amount"),
        (dan, {"creator": "nobody", "amount": 1000}, 404, "creator"),
        (dan, {"creator": "carol"}, 422, "amount"),
        (dan, {"creator": "carol", "amount": 1000, "tip": 1}, 422, "tip"),
    ]
    for who, body, status, field in cases:
        r = who.post("/api/payments_stripe/payments", body)
        assert r.status_code == status, (body, r.text)
        if field:
            assert r.json()["error"]["field"] == field, r.text
    r = dan.get("/api/payments_stripe/quote", params={"amount": "1e3"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "amount"
    assert dan.get("/api/payments_stripe/recipients", params={"user_ids": "x"}).status_code == 422
    with payments.server.client() as anonymous:
        r = anonymous.post(
            "/api/payments_stripe/payments", json={"creator": "carol", "amount": 1000}
        )
        assert r.status_code == 401
        assert anonymous.get("/api/payments_stripe/admin/summary").status_code == 401
    ids = dan.get("/api/payments_stripe/recipients", params={"user_ids": f"{carol.id},{dan.id}"})
    assert ids.json() == {"user_ids": [carol.id]}
    # Admin pages are for admins only, enforced by the server.
    for path in ("/api/payments_stripe/admin/summary", "/api/payments_stripe/admin/ledger.csv"):
        assert dan.get(path).status_code == 403
    assert dan.get("/payments/admin").status_code == 403


def test_stripe_refusing_or_unreachable_is_a_json_error(
    start_payments: Callable[..., Payments],
) -> None:
    """Stripe's own refusal (here: below its minimum charge) is a 409 naming Stripe's
    reason; Stripe out of reach is a 502; neither is a 500, and nothing is charged."""
    payments = start_payments(min_amount=1)
    carol, dan = payments.creator("carol"), payments.user("dan")
    r = dan.post("/api/payments_stripe/payments", {"creator": "carol", "amount": 1})
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "stripe_refused" and "at least 50" in r.text
    assert payments.stripe.get("/_test/counts").get("payment_intent", 0) == 0
    assert carol.get("/api/payments_stripe/receipts").json() == {"receipts": []}
    down = start_payments(api_base=f"http://127.0.0.1:{free_port()}")
    erin = down.user("erin")
    r = erin.post("/api/payments_stripe/onboarding")
    assert r.status_code == 502 and r.json()["error"]["code"] == "stripe_unavailable", r.text


def test_a_zero_decimal_currency(start_payments: Callable[..., Payments]) -> None:
    """jpy has no minor unit: amounts are whole yen, the fee math is the same."""
    payments = start_payments(currency="jpy", min_amount=100, max_amount=50_000, presets=[500])
    carol, dan = payments.creator("carol"), payments.user("dan")
    quote = dan.get("/api/payments_stripe/quote", params={"amount": 500}).json()
    assert quote == {"amount": 500, "fee": 19, "total": 519, "currency": "jpy", "exponent": 0}
    assert dan.get("/api/payments_stripe/config").json()["exponent"] == 0
    started = payments.pay(dan, carol, 500)
    payments.stripe.confirm(started["payment_intent_id"])
    assert payments.stripe.intent(started["payment_intent_id"]).currency == "jpy"
    balances = payments.balances(started["id"])
    assert balances["payers"] == -519 and balances["creators"] == 500
    assert "500 JPY" in carol.get("/payments").text
