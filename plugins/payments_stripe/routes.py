"""HTTP handlers: parse, authorise (through ``app.state.permissions``), call the
service, answer. API under ``/api/payments_stripe/``; pages under ``/payments``."""

from __future__ import annotations

import logging
from typing import Any

import stripe
from pydantic import BaseModel, ConfigDict
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from salon.core.api import endpoint, ok, path_int, read_json
from salon.core.auth import current_user, require_user
from salon.core.errors import BadRequest, NotFound, PayloadTooLarge, SalonError, ValidationFailed
from salon.core.models import User
from salon.core.permissions import PAYMENTS_ADMIN
from salon.core.routes.pages import render

from . import ledger
from .fees import format_money
from .models import ConnectAccount
from .schemas import (
    AccountOut,
    AdminSummaryOut,
    BreakdownOut,
    ConfigOut,
    EarningsOut,
    LinkOut,
    NoBody,
    PaymentBody,
    PaymentOut,
    PaymentStarted,
    ReceiptsOut,
    RecipientsOut,
    RefundBody,
    RefundOut,
    WebhookOut,
)
from .service import PaymentService, payment_json

logger = logging.getLogger(__name__)

API = "/api/payments_stripe"
TAG = "payments_stripe"


class StripeEventBody(BaseModel):
    """A Stripe event, exactly as Stripe signed it (verified before it is read)."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: str
    data: dict[str, Any]


def service(request: Request) -> PaymentService:
    return request.app.state.payments_stripe


def int_query(request: Request, name: str, *, required: bool = True) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        if required:
            raise ValidationFailed(f"{name} is required", field=name)
        return None
    if not raw.isdigit() or len(raw) > 10:
        raise ValidationFailed(f"{name} must be a positive integer, got {raw[:20]!r}", field=name)
    return int(raw)


async def user_named(request: Request, username: str, field: str) -> User:
    async with request.app.state.db.session() as session:
        user = (await session.exec(select(User).where(User.username == username.lower()))).first()
    if user is None:
        raise NotFound(f"no user named {username!r}", field=field)
    return user


# -- public ------------------------------------------------------------------------------


@endpoint(
    "GET",
    f"{API}/config",
    summary="Amounts and keys for the payment form",
    response=ConfigOut,
    auth=False,
    tag=TAG,
)
async def get_config(request: Request) -> Response:
    return ok(service(request).public_config())


@endpoint(
    "GET",
    f"{API}/quote",
    summary="What the payer is charged for an amount to the creator",
    response=BreakdownOut,
    auth=False,
    tag=TAG,
    query={"amount": "to the creator, in minor units"},
)
async def get_quote(request: Request) -> Response:
    amount = int_query(request, "amount")
    return ok(service(request).quote(amount).as_json())  # type: ignore[arg-type]


@endpoint(
    "GET",
    f"{API}/recipients",
    summary="Which of these users can receive money",
    response=RecipientsOut,
    auth=False,
    tag=TAG,
    query={"user_ids": "comma-separated user ids (at most 100)"},
)
async def get_recipients(request: Request) -> Response:
    raw = request.query_params.get("user_ids", "")
    parts = [p for p in raw.split(",") if p.strip()]
    if len(parts) > 100 or not all(p.strip().isdigit() and len(p.strip()) <= 10 for p in parts):
        raise ValidationFailed("user_ids must be up to 100 comma-separated ids", field="user_ids")
    ids = {int(p) for p in parts}
    async with request.app.state.db.session() as session:
        rows = await session.exec(
            select(ConnectAccount.user_id).where(
                col(ConnectAccount.user_id).in_(ids), col(ConnectAccount.charges_enabled)
            )
        )
        enabled = sorted(rows.all())
    return ok({"user_ids": enabled})


@endpoint(
    "POST",
    f"{API}/webhook",
    summary="Stripe's events (Stripe-Signature verified first)",
    body=StripeEventBody,
    response=WebhookOut,
    auth=False,
    tag=TAG,
)
async def webhook(request: Request) -> Response:
    svc = service(request)
    cap: int = request.app.state.settings.instance.max_body_bytes
    payload = b""
    async for chunk in request.stream():
        payload += chunk
        if len(payload) > cap:
            raise PayloadTooLarge(f"the body is over the limit of {cap} bytes")
    signature = request.headers.get("stripe-signature")
    try:
        event = stripe.Webhook.construct_event(payload, signature, svc.webhook_secret)
    except stripe.SignatureVerificationError as exc:
        logger.warning("webhook refused: %s", exc.user_message or exc)
        raise BadRequest(
            "the Stripe-Signature header does not verify",
            field="Stripe-Signature",
            code="bad_signature",
        ) from None
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError):
        raise BadRequest("the body is not a Stripe event", code="malformed_event") from None
    data = event.to_dict()
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        raise BadRequest("the event has no id or type", code="malformed_event")
    if not isinstance(data.get("data"), dict) or not isinstance(data["data"].get("object"), dict):
        raise BadRequest("the event has no data.object", code="malformed_event")
    result = await svc.receive(data)
    return ok({"received": True, "result": result})


# -- creators -------------------------------------------------------------------------


def account_json(svc: PaymentService, account: ConnectAccount | None) -> dict[str, Any]:
    return {
        "status": svc.status_of(account),
        "charges_enabled": bool(account and account.charges_enabled),
        "payouts_enabled": bool(account and account.payouts_enabled),
        "details_submitted": bool(account and account.details_submitted),
    }


@endpoint(
    "GET",
    f"{API}/account",
    summary="My Stripe account's onboarding status",
    response=AccountOut,
    tag=TAG,
    query={"refresh": "1 to read the status from Stripe now"},
)
async def get_account(request: Request) -> Response:
    user = await require_user(request)
    svc = service(request)
    account = await svc.account_of(user.id)  # type: ignore[arg-type]
    if account is not None and request.query_params.get("refresh") == "1":
        account = await svc.refresh_account(account.stripe_account_id)
    return ok(account_json(svc, account))


@endpoint(
    "POST",
    f"{API}/onboarding",
    summary="Start or continue Stripe onboarding",
    body=NoBody,
    response=LinkOut,
    tag=TAG,
)
async def post_onboarding(request: Request) -> Response:
    user = await require_user(request)
    await read_json(request, NoBody)
    return ok({"url": await service(request).onboarding_link(user)})


@endpoint(
    "POST",
    f"{API}/dashboard",
    summary="A link to my Stripe Express dashboard",
    body=NoBody,
    response=LinkOut,
    tag=TAG,
)
async def post_dashboard(request: Request) -> Response:
    user = await require_user(request)
    await read_json(request, NoBody)
    return ok({"url": await service(request).dashboard_link(user)})


@endpoint(
    "GET",
    f"{API}/earnings",
    summary="My earnings by day and by payer",
    response=EarningsOut,
    tag=TAG,
)
async def get_earnings(request: Request) -> Response:
    user = await require_user(request)
    return ok(await service(request).earnings(user))


# -- payers ---------------------------------------------------------------------------


@endpoint(
    "POST",
    f"{API}/payments",
    summary="Send money to a creator: creates the PaymentIntent",
    body=PaymentBody,
    response=PaymentStarted,
    status=201,
    tag=TAG,
)
async def post_payment(request: Request) -> Response:
    payer = await require_user(request)
    body = await read_json(request, PaymentBody)
    svc = service(request)
    creator = await user_named(request, body.creator, "creator")
    started = await svc.start_payment(
        payer,
        creator,
        body.amount,
        anonymous=body.anonymous,
        room_id=body.room_id,
        request_id=body.request_id,
    )
    return ok(
        {
            **payment_json(started.payment, creator=creator.username),
            "client_secret": started.client_secret,
            "publishable_key": svc.settings.publishable_key,
        },
        status=201,
    )


@endpoint(
    "GET",
    f"{API}/payments/{{payment_id}}",
    summary="A payment (its payer, creator or an admin)",
    response=PaymentOut,
    tag=TAG,
)
async def get_payment(request: Request) -> Response:
    user = await require_user(request)
    payment = await service(request).get_payment(path_int(request, "payment_id"))
    if user.id not in (payment.payer_id, payment.creator_id):
        await request.app.state.permissions.check(user, PAYMENTS_ADMIN, None)
    return ok(payment_json(payment))


@endpoint("GET", f"{API}/receipts", summary="My payments as a payer", response=ReceiptsOut, tag=TAG)
async def get_receipts(request: Request) -> Response:
    user = await require_user(request)
    return ok({"receipts": await service(request).receipts(user)})


# -- admins ---------------------------------------------------------------------------


async def require_admin(request: Request) -> User:
    user = await require_user(request)
    await request.app.state.permissions.check(user, PAYMENTS_ADMIN, None)
    return user


@endpoint(
    "POST",
    f"{API}/payments/{{payment_id}}/refund",
    summary="Refund a payment, fully or in part (admins)",
    body=RefundBody,
    response=RefundOut,
    tag=TAG,
)
async def post_refund(request: Request) -> Response:
    await require_admin(request)
    body = await read_json(request, RefundBody)
    svc = service(request)
    payment = await svc.get_payment(path_int(request, "payment_id"))
    refund = await svc.refund(payment, body.amount)
    return ok({"id": refund["id"], "amount": refund["amount"], "status": refund["status"]})


@endpoint(
    "GET",
    f"{API}/admin/summary",
    summary="Ledger totals and fee variance (admins)",
    response=AdminSummaryOut,
    tag=TAG,
)
async def get_admin_summary(request: Request) -> Response:
    await require_admin(request)
    return ok(await service(request).admin_summary())


@endpoint(
    "GET",
    f"{API}/admin/ledger.csv",
    summary="Every ledger entry as CSV (admins)",
    tag=TAG,
    media_type="text/csv",
)
async def get_ledger_csv(request: Request) -> Response:
    await require_admin(request)
    async with request.app.state.db.session() as session:
        text = await ledger.export_csv(session)
    return Response(
        text,
        media_type="text/csv",
        headers={"content-disposition": 'attachment; filename="salon-ledger.csv"'},
    )


# -- pages ----------------------------------------------------------------------------


async def payments_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/login?next=/payments", status_code=303)
    svc = service(request)
    account = await svc.account_of(user.id)  # type: ignore[arg-type]
    if account is not None and request.query_params.get("onboarding") == "return":
        account = await svc.refresh_account(account.stripe_account_id)
    return await render(
        request,
        "payments_stripe/payments.html",
        page="payments",
        account=account_json(svc, account),
        earnings=await svc.earnings(user),
        receipts=await svc.receipts(user),
        is_admin=await request.app.state.permissions.allowed(user, PAYMENTS_ADMIN, None),
        money=format_money,
    )


async def onboarding_page(request: Request) -> Response:
    """Account Links' refresh_url: a new link, straight to Stripe."""
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/login?next=/payments/onboarding", status_code=303)
    return RedirectResponse(await service(request).onboarding_link(user), status_code=303)


async def admin_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/login?next=/payments/admin", status_code=303)
    try:
        await request.app.state.permissions.check(user, PAYMENTS_ADMIN, None)
    except SalonError as exc:
        return await render(request, "message.html", status=exc.status, message=exc.message)
    return await render(
        request,
        "payments_stripe/admin.html",
        page="payments_admin",
        summary=await service(request).admin_summary(),
        money=format_money,
    )


routes: list[BaseRoute] = [
    get_config,
    get_quote,
    get_recipients,
    webhook,
    get_account,
    post_onboarding,
    post_dashboard,
    get_earnings,
    post_payment,
    get_payment,
    get_receipts,
    post_refund,
    get_admin_summary,
    get_ledger_csv,
    Route("/payments", payments_page),
    Route("/payments/onboarding", onboarding_page),
    Route("/payments/admin", admin_page),
]
