"""Test-side helpers: driving the local Stripe server (as Stripe.js, a bank or a
cardholder would) and reading Salon's ledger back."""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from typing import Any

import httpx
import stripe
from sqlalchemy import text
from sqlmodel import Session

from salon.core.db import make_sync_engine
from salon.core.models import AuthToken, User
from tests.helpers import Api, LiveServer

from .stripe_server import StripeTestServer

SECRET_KEY = "sk_test_salon_local"
WEBHOOK_SECRET = "whsec_salon_local_test"
PUBLISHABLE_KEY = "pk_test_salon_local"


class StripeSide:
    """The local Stripe server: its URL, state, controls and an SDK client on it."""

    def __init__(self, server: LiveServer, fake: StripeTestServer):
        self.server = server
        self.fake = fake
        self.url = server.url
        self.sdk = stripe.StripeClient(SECRET_KEY, base_addresses={"api": server.url})

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        r = httpx.post(f"{self.url}{path}", json=body or {}, timeout=60)
        assert r.status_code == 200, r.text
        return r.json()

    def get(self, path: str) -> Any:
        r = httpx.get(f"{self.url}{path}", timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def confirm(self, intent_id: str, method: str = "pm_card_visa") -> Any:
        """What Stripe.js does when the payer submits the Payment Element."""
        return self.sdk.v1.payment_intents.confirm(intent_id, params={"payment_method": method})

    def intent(self, intent_id: str) -> Any:
        return self.sdk.v1.payment_intents.retrieve(
            intent_id,
            params={"expand": ["latest_charge.balance_transaction", "latest_charge.transfer"]},
        )

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.get("/_test/events") if type_ is None or e["type"] == type_]


class Payments:
    """A Salon instance with payments on, and the Stripe server behind it."""

    def __init__(self, server: LiveServer, stripe_side: StripeSide, database_url: str):
        self.server = server
        self.stripe = stripe_side
        self.database_url = database_url

    def sql(self, query: str, **params: Any) -> list[Any]:
        engine = make_sync_engine(self.database_url)
        try:
            with engine.begin() as conn:
                result = conn.execute(text(query), params)
                return list(result.all()) if result.returns_rows else []
        finally:
            engine.dispose()

    def user(self, username: str, *, admin: bool = False) -> Api:
        """An account with an API token, stored directly: signing up over HTTP costs two
        Argon2 hashes (about a second) and is tested by the core; this is set-up."""
        secret = secrets.token_urlsafe(32)
        engine = make_sync_engine(self.database_url)
        try:
            with Session(engine) as session:
                user = User(username=username, display_name=username, is_admin=admin)
                session.add(user)
                session.flush()
                session.add(
                    AuthToken(
                        user_id=user.id,
                        kind="api",
                        name="test",
                        token_hash=hashlib.sha256(secret.encode()).hexdigest(),
                    )
                )
                session.commit()
                data = {"id": user.id, "username": username, "display_name": username}
        finally:
            engine.dispose()
        return Api(self.server, data, secret)

    def admin(self, username: str) -> Api:
        return self.user(username, admin=True)

    def creator(self, username: str) -> Api:
        """A user who went through Stripe onboarding, as a browser would."""
        api = self.user(username)
        r = api.post("/api/payments_stripe/onboarding")
        assert r.status_code == 200, r.text
        link = r.json()["url"]
        assert link.startswith(self.stripe.url)
        with httpx.Client(timeout=30) as browser:
            assert browser.get(link).status_code == 200
            done = browser.post(link)
        assert done.status_code == 303, done.text
        # instance.base_url is the config default here; the path is what matters.
        assert done.headers["location"].endswith("/payments?onboarding=return")
        back = api.get("/payments?onboarding=return")
        assert back.status_code == 200, back.text
        assert api.get("/api/payments_stripe/account").json()["status"] == "enabled"
        return api

    def pay(self, payer: Api, creator: Api, amount: int, **extra: Any) -> dict[str, Any]:
        r = payer.post(
            "/api/payments_stripe/payments",
            {"creator": creator.username, "amount": amount, **extra},
        )
        assert r.status_code == 201, r.text
        return r.json()

    def payment(self, api: Api, payment_id: int) -> dict[str, Any]:
        r = api.get(f"/api/payments_stripe/payments/{payment_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def entries(self, payment_id: int | None = None) -> list[tuple[Any, ...]]:
        """(txn key, kind, account, amount, currency, event id) of every ledger line."""
        where = "" if payment_id is None else "WHERE e.payment_id = :pid"
        return self.sql(
            "SELECT t.key, t.kind, e.account, e.amount, e.currency, t.event_id "
            "FROM payments_stripe_entry e JOIN payments_stripe_txn t ON t.id = e.txn_id "
            f"{where} ORDER BY e.id",
            pid=payment_id,
        )

    def balances(self, payment_id: int | None = None) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        for _key, _kind, account, amount, _cur, _event in self.entries(payment_id):
            totals[account] += amount
        return dict(totals)

    def assert_balanced(self) -> None:
        per_txn: dict[str, int] = defaultdict(int)
        for key, _kind, _account, amount, _cur, _event in self.entries():
            per_txn[key] += amount
        assert all(v == 0 for v in per_txn.values()), per_txn
        keys = [k for (k,) in self.sql("SELECT key FROM payments_stripe_txn")]
        assert len(keys) == len(set(keys))
