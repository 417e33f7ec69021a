"""Fixtures: the local Stripe-compatible server, and Salon instances with the payments
plugin pointed at it (through ``api_base``; nothing else in Salon knows)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import LiveServer, start_instance

from .payments_helpers import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET, Payments, StripeSide
from .stripe_server import StripeTestServer


@pytest.fixture(scope="session")
def stripe_session() -> Iterator[StripeSide]:
    """One local Stripe server for the whole run (starting one costs a uvicorn)."""
    fake = StripeTestServer(SECRET_KEY, WEBHOOK_SECRET)
    server = LiveServer(fake.app).start()
    fake.base_url = server.url
    try:
        yield StripeSide(server, fake)
    finally:
        server.stop()


@pytest.fixture
def stripe_side(stripe_session: StripeSide) -> StripeSide:
    """The local Stripe server, emptied: a fresh Stripe account for this test."""
    stripe_session.control("/_test/reset")
    return stripe_session


def payments_config(tmp_path: Path, api_base: str, **overrides: Any) -> dict[str, Any]:
    secrets = tmp_path / "secrets"
    secrets.mkdir(exist_ok=True)
    (secrets / "stripe-secret-key").write_text(SECRET_KEY)
    (secrets / "stripe-webhook-secret").write_text(WEBHOOK_SECRET)
    return {
        "secret_key": f"file:{secrets / 'stripe-secret-key'}",
        "webhook_secret": f"file:{secrets / 'stripe-webhook-secret'}",
        "publishable_key": PUBLISHABLE_KEY,
        "api_base": api_base,
        **overrides,
    }


@pytest.fixture
def start_payments(
    tmp_path: Path, database_url: str, stripe_side: StripeSide
) -> Iterator[Callable[..., Payments]]:
    """Start a Salon instance with payments on: ``start_payments(**plugin_settings)``."""
    started: list[LiveServer] = []

    def start(extra_plugins: Any = (), **overrides: Any) -> Payments:
        section = payments_config(tmp_path, overrides.pop("api_base", stripe_side.url), **overrides)
        server = start_instance(
            tmp_path / f"instance{len(started)}",
            database_url,
            extra_plugins=extra_plugins,
            plugins={"enabled": ["payments_stripe"], "payments_stripe": section},
        )
        started.append(server)
        stripe_side.control(
            "/_test/config", {"webhook_url": f"{server.url}/api/payments_stripe/webhook"}
        )
        return Payments(server, stripe_side, database_url)

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def payments(start_payments: Callable[..., Payments]) -> Payments:
    return start_payments()
