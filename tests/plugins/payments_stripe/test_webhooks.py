"""``POST /api/payments_stripe/webhook``: verified before it is read, each event applied
at most once whatever the number, order and concurrency of deliveries."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import stripe

from salon.core.hookspecs import hookimpl

from .payments_helpers import WEBHOOK_SECRET, Payments

WEBHOOK = "/api/payments_stripe/webhook"


def test_one_event_20_times_concurrently_then_all_in_reverse_order(payments: Payments) -> None:
    """payment_intent.succeeded 20 times at once books one set of entries; then every
    event of a paid, partly refunded payment, newest first, 20 times each, at once."""
    side = payments.stripe
    carol, dan = payments.creator("carol"), payments.user("dan")
    side.control("/_test/config", {"deliver": "off"})
    started = payments.pay(dan, carol, 3000)
    side.confirm(started["payment_intent_id"])
    (succeeded,) = side.events("payment_intent.succeeded")
    statuses = side.control("/_test/deliver", {"events": [succeeded["id"]], "times": 20})[
        "statuses"
    ]
    assert statuses == [200] * 20
    assert payments.payment(dan, started["id"])["state"] == "succeeded"
    charge_key = f"charge:{started_charge(payments, started)}"
    assert {row[0] for row in payments.entries(started["id"])} == {charge_key}
    assert payments.sql("SELECT count(*) FROM payments_stripe_txn") == [(1,)]
    payments.assert_balanced()

    # A refund made at Stripe (the dashboard), its events not delivered yet.
    side.sdk.v1.refunds.create(
        params={
            "payment_intent": started["payment_intent_id"],
            "amount": 1000,
            "reverse_transfer": True,
        }
    )
    events = [e["id"] for e in side.events() if e["type"] != "account.updated"]
    assert (
        len(events) == 4
    )  # charge.succeeded, payment_intent.succeeded, charge.refunded, transfer.reversed
    statuses = side.control("/_test/deliver", {"events": events[::-1], "times": 20})["statuses"]
    assert statuses == [200] * 80
    assert payments.payment(dan, started["id"])["state"] == "partially_refunded"
    kinds = sorted(kind for (kind,) in payments.sql("SELECT kind FROM payments_stripe_txn"))
    assert kinds == ["charge", "refund", "transfer_reversal"]
    assert len(payments.entries(started["id"])) == len(payments.entries())
    payments.assert_balanced()
    stored = payments.sql(
        "SELECT event_id, applied_at FROM payments_stripe_event WHERE type != 'account.updated'"
    )
    assert sorted(e for e, _ in stored) == sorted(events)
    assert all(applied is not None for _, applied in stored)
    # Once more: duplicates change nothing.
    before = payments.entries()
    with httpx.Client(base_url=payments.server.url) as client:
        event = next(e for e in side.events() if e["id"] == events[0])
        body = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(body, WEBHOOK_SECRET)
        r = client.post(WEBHOOK, content=body, headers={"stripe-signature": header})
    assert r.json() == {"received": True, "result": "duplicate"}
    assert payments.entries() == before


def started_charge(payments: Payments, started: dict[str, Any]) -> str:
    return payments.stripe.intent(started["payment_intent_id"]).latest_charge.id


def test_bad_signatures_and_bodies_get_400_and_change_nothing(payments: Payments) -> None:
    side = payments.stripe
    carol, dan = payments.creator("carol"), payments.user("dan")
    side.control("/_test/config", {"deliver": "off"})
    started = payments.pay(dan, carol, 800)
    side.confirm(started["payment_intent_id"])
    (event,) = side.events("payment_intent.succeeded")
    body = json.dumps(event)
    now = int(time.time())
    good = stripe.WebhookSignature.generate_signature_header(body, WEBHOOK_SECRET, now)
    forged = stripe.WebhookSignature.generate_signature_header(body, "whsec_not_ours", now)
    stale = stripe.WebhookSignature.generate_signature_header(body, WEBHOOK_SECRET, now - 3600)
    tampered = body.replace('"amount": 800', '"amount": 1')
    cases: list[tuple[str, dict[str, str], str]] = [
        ("no signature", {}, body),
        ("forged signature", {"stripe-signature": forged}, body),
        ("stale timestamp", {"stripe-signature": stale}, body),
        ("garbled header", {"stripe-signature": "t=abc,v1=zz"}, body),
        ("tampered body", {"stripe-signature": good}, tampered),
    ]
    for malformed in ("{not json", "[]", '{"id": "evt_1"}', '{"id": "evt_1", "type": "x"}'):
        header = stripe.WebhookSignature.generate_signature_header(malformed, WEBHOOK_SECRET)
        cases.append((f"malformed {malformed!r}", {"stripe-signature": header}, malformed))
    with httpx.Client(base_url=payments.server.url) as client:
        for name, headers, content in cases:
            r = client.post(WEBHOOK, content=content, headers=headers)
            assert r.status_code == 400, (name, r.text)
            assert set(r.json()["error"]) == {"code", "message", "field"}, name
        r = client.post(WEBHOOK, content=b"\xff\xfe", headers={"stripe-signature": good})
        assert r.status_code == 400, r.text
        assert payments.sql("SELECT count(*) FROM payments_stripe_event") == [(0,)] or all(
            t == "account.updated"
            for (t,) in payments.sql("SELECT type FROM payments_stripe_event")
        )
        assert payments.entries() == []
        assert payments.payment(dan, started["id"])["state"] == "created"
        r = client.post(WEBHOOK, content=body, headers={"stripe-signature": good})
    assert r.status_code == 200 and r.json()["result"] == "applied", r.text
    assert payments.payment(dan, started["id"])["state"] == "succeeded"


def test_unhandled_and_unknown_events_are_acknowledged(payments: Payments) -> None:
    """charge.succeeded is not acted on; an event for a payment Salon did not make is
    acknowledged without entries."""
    side = payments.stripe
    carol, dan = payments.creator("carol"), payments.user("dan")
    started = payments.pay(dan, carol, 900)
    side.confirm(started["payment_intent_id"])
    assert payments.sql(
        "SELECT applied_at IS NOT NULL FROM payments_stripe_event WHERE type = 'charge.succeeded'"
    ) == [(True,)]
    # A payment made outside Salon (another application on the same Stripe account).
    account = payments.sql("SELECT stripe_account_id FROM payments_stripe_account")[0][0]
    other = side.sdk.v1.payment_intents.create(
        params={"amount": 5000, "currency": "usd", "transfer_data": {"destination": account}}
    )
    side.confirm(other.id)
    assert payments.sql(
        "SELECT count(*) FROM payments_stripe_event WHERE object_id = :id", id=other.id
    ) == [(1,)]
    assert {row[0] for row in payments.entries()} == {f"charge:{started_charge(payments, started)}"}


class BlocksMallory:
    """Stands for the moderation plugin: carol blocked mallory."""

    @hookimpl
    def salon_permission(self, actor: Any, action: str, resource: Any) -> bool | None:
        if action == "payments.send" and actor is not None and actor.username == "mallory":
            return False
        return None


def test_a_blocked_user_cannot_pay(start_payments: Callable[..., Payments]) -> None:
    """payments.send goes through the permissions module, so a plugin's refusal holds."""
    payments = start_payments(extra_plugins=[("blocks", BlocksMallory())])
    carol, mallory, dan = payments.creator("carol"), payments.user("mallory"), payments.user("dan")
    r = mallory.post("/api/payments_stripe/payments", {"creator": "carol", "amount": 1000})
    assert r.status_code == 403, r.text
    assert mallory.get("/api/users/carol").json()["extras"]["payments"]["can_send"] is False
    assert dan.get("/api/users/carol").json()["extras"]["payments"]["can_send"] is True
    assert payments.stripe.get("/_test/counts").get("payment_intent", 0) == 0
    assert carol.get("/api/users/carol").json()["extras"]["payments"]["can_send"] is False
