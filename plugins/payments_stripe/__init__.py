"""Creator payments through Stripe Connect: 100% to the creator, the fee on top.

Hooks only (a deleted account cannot be paid: ``salon_permission`` refuses
``payments.send`` to it, and ``salon_account_deleted`` leaves its money records as they
are); the domain lives in :mod:`.service` (payments, events), :mod:`.booking`
(Stripe's state to ledger facts), :mod:`.ledger`, :mod:`.fees` and :mod:`.reconcile`,
and Stripe's API behind :mod:`.gateway`. See README.md in this folder.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel, ValidationError

from salon.core.cli import EXIT_USAGE, config_option, fail, settings_or_exit
from salon.core.db import sync_session
from salon.core.errors import ConfigError
from salon.core.hookspecs import hookimpl
from salon.core.permissions import PAYMENTS_SEND
from salon.core.settings import describe_validation_error

from .gateway import StripeGateway
from .reconcile import compare, day_start, ledger_refs
from .service import PaymentService
from .settings import PaymentsSettings

logger = logging.getLogger(__name__)

NAME = "payments_stripe"
HERE = Path(__file__).resolve().parent
SCRIPT = f"/static/plugins/{NAME}/send_money.js"
STYLE = f"/static/plugins/{NAME}/payments.css"

# Hooks without an ``app`` argument (profile extras) reach the running instance's
# service here; one instance with payments per process.
_running: dict[str, PaymentService] = {}


@hookimpl
def salon_settings_model(name: str) -> type[BaseModel] | None:
    return PaymentsSettings if name == NAME else None


@hookimpl
async def salon_startup(app: Any) -> None:
    settings: PaymentsSettings = app.state.plugin_settings[NAME]
    # A ConfigError here keeps the plugin off; the core logs why in one line.
    secret_key, webhook_secret = settings.keys()
    if not settings.publishable_key:
        message = "plugins.payments_stripe.publishable_key is empty; the card form needs it"
        raise ConfigError(message, field="plugins.payments_stripe.publishable_key")
    service = PaymentService(
        settings=settings,
        gateway=StripeGateway(secret_key, settings.api_base),
        webhook_secret=webhook_secret,
        db=app.state.db,
        permissions=app.state.permissions,
        base_url=app.state.settings.instance.base_url,
    )
    app.state.payments_stripe = service
    _running["service"] = service
    logger.info("payments_stripe running: %s through %s", settings.currency, settings.api_base)


@hookimpl
def salon_shutdown(app: Any) -> None:
    if _running.get("service") is getattr(app.state, "payments_stripe", None):
        _running.pop("service", None)


@hookimpl
def salon_routes() -> list[Any]:
    from .routes import routes

    return routes


@hookimpl
def salon_migrations() -> Path:
    return HERE / "migrations"


@hookimpl
def salon_web_dirs() -> dict[str, Path]:
    return {"templates": HERE / "templates", "static": HERE / "static"}


@hookimpl
def salon_page_assets(page: str, viewer: Any) -> dict[str, Any] | None:
    assets: dict[str, Any] = {"nav": [{"href": "/payments", "label": "Payments"}] if viewer else []}
    if page in ("profile", "room"):
        assets["scripts"] = [SCRIPT]
    if page in ("profile", "room", "payments", "payments_admin"):
        assets["styles"] = [STYLE]
    return assets


@hookimpl
def salon_permission(actor: Any, action: str, resource: Any) -> str | None:
    """A deleted account cannot be paid, whatever its Stripe account says."""
    if action == PAYMENTS_SEND and getattr(resource, "deleted_at", None) is not None:
        return f"@{resource.username} deleted their account and can no longer be paid"
    return None


@hookimpl
def salon_account_deleted(user: Any) -> Any:
    service = _running.get("service")
    if service is None:
        return None

    async def forget() -> None:
        try:
            await service.account_deleted(user)
        except Exception:  # the deletion is stored; the core must not fail it afterwards
            logger.exception("could not look up the payments of %s", user.username)

    return forget()


@hookimpl
def salon_profile_extras(user: Any, viewer: Any) -> Any:
    service = _running.get("service")
    if service is None or getattr(user, "deleted_at", None) is not None:
        return None

    async def extras() -> dict[str, Any]:
        account = await service.account_of(user.id)
        can_receive = bool(account and account.charges_enabled)
        can_send = (
            can_receive
            and viewer is not None
            and await service.permissions.allowed(viewer, PAYMENTS_SEND, user)
        )
        data: dict[str, Any] = {
            **service.public_config(),
            "can_receive": can_receive,
            "can_send": can_send,
        }
        if viewer is not None and viewer.id == user.id:
            data["onboarding"] = service.status_of(account)
        return {"payments": data}

    return extras()


# -- command line -----------------------------------------------------------------------


@click.group("payments")
def payments_group() -> None:
    """Stripe payments: reconcile the ledger with Stripe."""


@payments_group.command("reconcile")
@click.option("--from", "start", required=True, help="First day, YYYY-MM-DD (UTC).")
@click.option("--to", "end", required=True, help="Last day, YYYY-MM-DD (UTC), included.")
@config_option
def reconcile_command(start: str, end: str, config_file: str | None) -> None:
    """Compare the ledger with Stripe's balance transactions; exit 1 on mismatches."""
    settings = settings_or_exit(config_file)
    try:
        payments = PaymentsSettings.model_validate(settings.plugins.section(NAME))
        secret_key, _ = payments.keys()
    except ValidationError as exc:
        fail(describe_validation_error(exc, None, prefix=f"plugins.{NAME}."), EXIT_USAGE)
    except ConfigError as exc:
        fail(exc.message, EXIT_USAGE)
    try:
        first, last = day_start(start), day_start(end)
    except ValueError as exc:
        fail(f"--from/--to must be YYYY-MM-DD dates: {exc}", EXIT_USAGE)
    if len(end) == 10:
        last += timedelta(days=1)  # a day given as --to is included whole
    if last <= first:
        fail("--to must not be before --from", EXIT_USAGE)
    gateway = StripeGateway(secret_key, payments.api_base)
    theirs = gateway.balance_transactions(int(first.timestamp()), int(last.timestamp()))
    with sync_session(settings.instance.database_url) as session:
        ours = ledger_refs(session, first, last)
    problems = compare(theirs, ours)
    click.echo(
        f"{len(theirs)} balance transactions at Stripe, {len(ours)} in the ledger, "
        f"{first.date()} to {(last - timedelta(seconds=1)).date()}"
    )
    for problem in problems:
        click.echo(f"mismatch {problem}")
    if problems:
        click.echo(f"{len(problems)} mismatches")
        raise SystemExit(1)
    click.echo("ledger and Stripe agree")


@hookimpl
def salon_cli_commands() -> list[click.Command]:
    return [payments_group]
