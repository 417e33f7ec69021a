"""A creator deletes their account (``DELETE /api/me``): nobody can pay them any more,
their money records stay exactly as they were, and a payment they had started as a
payer is still settled by Stripe's webhooks."""

from __future__ import annotations

import functools

from salon.core.auth import hash_password
from tests.helpers import PASSWORD, Api, assert_error

from .payments_helpers import Payments

PAYMENTS = "SELECT id, payer_id, creator_id, amount, gross, state FROM payments_stripe_payment"


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)


def with_password(payments: Payments, api: Api) -> Api:
    """The helpers' accounts have no password; deleting one asks for it."""
    payments.sql(
        'UPDATE "user" SET password_hash = :h WHERE id = :id', h=password_hash(), id=api.id
    )
    return api


def test_a_deleted_creator_cannot_be_paid_and_money_records_stay(payments: Payments) -> None:
    side = payments.stripe
    carol, eve = payments.creator("carol"), payments.creator("eve")
    dan = payments.user("dan")
    # dan paid carol; carol started paying eve but has not confirmed her card yet.
    paid = payments.pay(dan, carol, 1000)
    side.confirm(paid["payment_intent_id"])
    assert payments.payment(dan, paid["id"])["state"] == "succeeded"
    pending = payments.pay(carol, eve, 500)
    assert pending["state"] == "created"
    payments.assert_balanced()
    rows_before = sorted(payments.sql(PAYMENTS))
    ledger_before = payments.entries()
    earnings_before = eve.get("/api/payments_stripe/earnings").json()

    with_password(payments, carol)
    r = carol.http.request("DELETE", "/api/me", json={"password": PASSWORD})
    assert r.status_code == 204, r.text

    # Nothing about money changed: the same payments, the same ledger lines.
    assert sorted(payments.sql(PAYMENTS)) == rows_before
    assert payments.entries() == ledger_before
    assert payments.sql(
        "SELECT stripe_account_id FROM payments_stripe_account WHERE user_id = :id", id=carol.id
    )
    # She can no longer be paid: payments.send is refused, whatever Stripe says of her
    # account, and no PaymentIntent is created.
    intents = side.get("/_test/counts")["payment_intent"]
    r = dan.post("/api/payments_stripe/payments", {"creator": "carol", "amount": 1000})
    error = assert_error(r, 403)
    assert "deleted their account" in error["message"]
    assert side.get("/_test/counts")["payment_intent"] == intents
    # Her profile (and its payment extras) is gone.
    assert_error(dan.get("/api/users/carol"), 404)
    # dan's receipt for what he paid her stays.
    receipts = dan.get("/api/payments_stripe/receipts").json()["receipts"]
    assert [(x["id"], x["creator"], x["state"]) for x in receipts] == [
        (paid["id"], "carol", "succeeded")
    ]
    # Her payment to eve, started before she left, is settled by Stripe's webhook as
    # any other: eve is paid and the ledger records it, balanced.
    side.confirm(pending["payment_intent_id"])
    assert payments.payment(eve, pending["id"])["state"] == "succeeded"
    earnings = eve.get("/api/payments_stripe/earnings").json()
    assert earnings["total"] == earnings_before["total"] + 500
    assert len(payments.entries()) > len(ledger_before)
    payments.assert_balanced()
    # Others are paid as before.
    other = payments.pay(dan, eve, 700)
    side.confirm(other["payment_intent_id"])
    assert payments.payment(dan, other["id"])["state"] == "succeeded"
