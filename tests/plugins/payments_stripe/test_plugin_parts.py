"""The plugin's parts: start-up without keys, settings, OpenAPI, tables and migrations,
the append-only ledger, page assets, and ``salon payments reconcile``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from salon.core import db
from salon.core.errors import ConfigError
from salon.plugins import payments_stripe
from salon.plugins.payments_stripe import ledger
from salon.plugins.payments_stripe.ledger import Line, Ref, UnbalancedError
from salon.plugins.payments_stripe.models import METADATA
from salon.plugins.payments_stripe.settings import PaymentsSettings
from tests.helpers import start_instance

from .payments_helpers import Payments

MIGRATIONS = {"payments_stripe": Path(payments_stripe.__file__).parent / "migrations"}


def test_without_keys_the_plugin_stays_off_and_the_instance_serves(
    tmp_path: Path,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    caplog.set_level("WARNING", logger="salon.core.plugins")
    server = start_instance(tmp_path, sqlite_url, plugins={"enabled": ["payments_stripe"]})
    try:
        with server.client() as client:
            assert client.get("/healthz").json() == {"status": "ok"}
            state = {p["name"]: p for p in client.get("/api/plugins").json()["plugins"]}
            assert state["payments_stripe"]["state"] == "failed"
            assert client.get("/api/payments_stripe/config").status_code == 404
        alice = server.signup("alice")
        assert alice.get("/api/users/alice").json()["extras"] == {}
        assert "Send money" not in alice.get("/users/alice").text
        assert alice.open_room()["id"]
    finally:
        server.stop()
    (record,) = [r for r in caplog.records if "payments_stripe" in r.getMessage()]
    assert "plugin payments_stripe is off" in record.getMessage()
    assert "STRIPE_SECRET_KEY is not set" in record.getMessage()
    assert record.exc_info is None  # a config condition: one line, no traceback


def test_settings_validate_and_name_the_key() -> None:
    settings = PaymentsSettings()
    assert settings.fee_rule().bp == 290 and settings.fee_rule().fixed == 30
    assert settings.api_base == "https://api.stripe.com"
    for bad in (
        {"secret_key": "sk_live_pasted_here"},
        {"currency": "xyz"},
        {"min_amount": 500, "max_amount": 100},
        {"fees": {"usd": {"bp": 10000, "fixed": 0}}},
        {"api_base": "ftp://x"},
        {"rounding": "down"},
    ):
        with pytest.raises(ValueError):
            PaymentsSettings.model_validate(bad)
    with pytest.raises(ConfigError) as caught:
        PaymentsSettings(secret_key="env:SALON_TEST_NO_SUCH_VARIABLE").keys()
    assert caught.value.field == "plugins.payments_stripe.secret_key"


def test_every_payments_endpoint_is_in_the_openapi_document(payments: Payments) -> None:
    with payments.server.client() as client:
        doc = client.get("/api/openapi.json").json()
    served = {
        (route.path, method.lower())
        for route in payments.server.app.routes
        if getattr(route, "path", "").startswith("/api/payments_stripe/")
        for method in (route.methods or ()) - {"HEAD"}
    }
    assert len(served) == 14
    for path, method in served:
        op = doc["paths"][path][method]
        assert "4XX" in op["responses"], path
        if method == "post":
            assert "requestBody" in op, path
    assert "security" not in doc["paths"]["/api/payments_stripe/webhook"]["post"]
    csv = doc["paths"]["/api/payments_stripe/admin/ledger.csv"]["get"]["responses"]["200"]
    assert "text/csv" in csv["content"]


def test_models_match_migrations(database_url: str) -> None:
    db.upgrade(database_url, plugins=MIGRATIONS)
    engine = db.make_sync_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_object": lambda obj, name, kind, _reflected, _other: (
                        kind != "table" or name.startswith("payments_stripe_")
                    )
                },
            )
            diff = compare_metadata(context, METADATA)
        assert diff == [], f"payments models and migrations disagree: {diff}"
    finally:
        engine.dispose()


@pytest.mark.anyio
async def test_ledger_balances_refuses_changes_and_corrects_by_reversal(database_url: str) -> None:
    db.upgrade(database_url, plugins=MIGRATIONS)
    database = db.Database(database_url)
    try:
        async with database.session() as session:
            with pytest.raises(UnbalancedError):
                await ledger.post(
                    session,
                    key="bad",
                    kind="charge",
                    stripe_object_id="ch_1",
                    lines=[Line("payers", -100, "usd"), Line("creators", 99, "usd")],
                )
            with pytest.raises(UnbalancedError):
                await ledger.post(
                    session,
                    key="bad",
                    kind="charge",
                    stripe_object_id="ch_1",
                    lines=[Line("payers", -100, "usd"), Line("nowhere", 100, "usd")],
                )
            lines = [
                Line("payers", -1061, "usd"),
                Line("creators", 1000, "usd"),
                Line("stripe_fees", 61, "usd"),
            ]
            ref = Ref("txn_1", "charge", 1061, 61, "usd", datetime.now(UTC))
            txn = await ledger.post(
                session,
                key="charge:ch_1",
                kind="charge",
                stripe_object_id="ch_1",
                lines=lines,
                refs=[ref],
            )
            assert txn is not None
            again = await ledger.post(
                session, key="charge:ch_1", kind="charge", stripe_object_id="ch_1", lines=lines
            )
            assert again is None
            correction = await ledger.reverse(session, txn.id, reason="booked twice by hand")
            assert correction is not None and correction.reverses_id == txn.id
            await session.commit()
            assert await ledger.unbalanced(session) == []
            assert (await ledger.totals(session))["usd"] == dict.fromkeys(ledger.ACCOUNTS, 0)
            assert (await ledger.count(session)) == (2, 6)
            csv = await ledger.export_csv(session)
            assert (
                csv.splitlines()[0].split(",") == ledger.CSV_COLUMNS and len(csv.splitlines()) == 7
            )
        for statement in (
            "UPDATE payments_stripe_entry SET amount = 0",
            "DELETE FROM payments_stripe_entry",
            "UPDATE payments_stripe_txn SET kind = 'x'",
            "DELETE FROM payments_stripe_balance_ref",
        ):
            async with database.session() as session:
                with pytest.raises(DBAPIError, match="append-only"):
                    await session.exec(text(statement))
    finally:
        await database.dispose()


def test_salon_page_assets_and_profile_extras(payments: Payments) -> None:
    carol, dan = payments.creator("carol"), payments.user("dan")
    profile = dan.get("/users/carol").text
    assert "/static/plugins/payments_stripe/send_money.js" in profile
    assert 'href="/payments"' in profile
    room = carol.open_room()
    assert "/static/plugins/payments_stripe/send_money.js" in dan.get(f"/rooms/{room['id']}").text
    assert "send_money.js" not in dan.get("/").text
    with payments.server.client() as anonymous:
        page = anonymous.get("/users/carol").text
        assert 'href="/payments"' not in page
        extras = anonymous.get("/api/users/carol").json()["extras"]["payments"]
        assert extras["can_receive"] is True and extras["can_send"] is False
        assert "onboarding" not in extras
        assert anonymous.get("/payments", follow_redirects=False).status_code == 303
    assert payments.stripe.get("/_test/counts")["account"] == 1
    js = dan.get("/static/plugins/payments_stripe/send_money.js")
    assert js.status_code == 200 and "salon:profile" in js.text and "salon:room" in js.text


def reconcile_in_process(config: Path, day: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        payments_stripe.payments_group,
        ["reconcile", "--from", day, "--to", day, "--config", str(config)],
    )
    return result.exit_code, result.output


def run_reconcile(config: Path, day: str) -> subprocess.CompletedProcess[str]:
    """The real ``salon`` command, as an admin runs it."""
    salon = Path(sys.executable).parent / "salon"
    return subprocess.run(
        [str(salon), "payments", "reconcile", "--from", day, "--to", day],
        env={**os.environ, "SALON_CONFIG": str(config)},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=config.parent,
    )


def test_reconcile_compares_the_ledger_with_stripe(
    start_payments: Callable[..., Payments], tmp_path: Path
) -> None:
    payments = start_payments()
    carol, dan = payments.creator("carol"), payments.user("dan")
    first = payments.pay(dan, carol, 1000)
    payments.stripe.confirm(first["payment_intent_id"])
    admin = payments.admin("root")
    assert (
        admin.post(
            f"/api/payments_stripe/payments/{first['id']}/refund", {"amount": 300}
        ).status_code
        == 200
    )
    today = datetime.now(UTC).date().isoformat()
    config = tmp_path / "instance0" / "salon.toml"
    code, output = reconcile_in_process(config, today)
    assert code == 0, output
    assert "4 balance transactions at Stripe, 4 in the ledger" in output
    assert "ledger and Stripe agree" in output
    # A charge whose events never reached Salon: Stripe has it, the ledger does not.
    payments.stripe.control("/_test/config", {"deliver": "off"})
    second = payments.pay(dan, carol, 2000)
    payments.stripe.confirm(second["payment_intent_id"])
    found = run_reconcile(config, today)
    assert found.returncode == 1, found.stdout + found.stderr
    assert found.stdout.count("mismatch txn_") == 2  # its charge and its transfer
    assert "but not in the ledger" in found.stdout
    code, output = reconcile_in_process(config, "yesterday")
    assert code == 2 and "YYYY-MM-DD" in output
