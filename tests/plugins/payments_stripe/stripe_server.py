"""A local Stripe-compatible server: the one stand-in the test suite allows.

It implements exactly the Stripe endpoints Salon calls, with Stripe's documented
object shapes, list envelopes and error format, and Stripe's Idempotency-Key
semantics (a replayed key returns the first answer; the same key with other
parameters is an ``idempotency_error``):

    POST /v1/accounts, GET /v1/accounts/{id}, POST /v1/account_links,
    POST /v1/accounts/{id}/login_links,
    POST /v1/payment_intents, POST /v1/payment_intents/{id}/confirm,
    GET /v1/payment_intents/{id} (expand), GET /v1/charges/{id} (expand),
    POST /v1/refunds, GET /v1/refunds, GET /v1/disputes,
    GET /v1/transfers/{id}/reversals, POST /v1/transfers/{id}/reversals,
    GET /v1/balance_transactions

Test payment methods for confirm: ``pm_card_visa`` (succeeds), ``pm_card_chargeDeclined``
(declined: 402 card_error), ``pm_usBankAccount`` (processing until settled).

Events are signed with ``stripe.WebhookSignature.generate_signature_header`` and sent
to ``webhook_url`` before the request that caused them is answered (``deliver="sync"``)
or only stored (``deliver="off"``), to be sent by ``/_test/deliver``. Test controls:

    GET  /connect/onboarding/{account}     the hosted onboarding page (POST completes it)
    POST /_test/config                     {"deliver", "fee_bp", "fee_fixed", "webhook_url"}
    POST /_test/payment_intents/{id}/settle   a processing payment succeeds
    POST /_test/charges/{id}/dispute       the payer disputes the charge
    POST /_test/disputes/{id}/close        {"status": "won" | "lost"}
    POST /_test/deliver                    {"events": [ids], "times": n}: concurrently
    GET  /_test/events, GET /_test/log, GET /_test/counts
"""

from __future__ import annotations

import copy
import json
import logging
import secrets
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

import httpx
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .stripe_controls import TestControls
from .stripe_money import MoneyMovements
from .stripe_wire import StripeError, as_int, nest, not_found

logger = logging.getLogger("stripe_test_server")

API_VERSION = stripe.api_version


class StripeTestServer(TestControls, MoneyMovements):
    """The server's state and its Starlette app (``self.app``)."""

    def __init__(
        self, secret_key: str, webhook_secret: str, *, fee_bp: int = 290, fee_fixed: int = 30
    ):
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.base_url = ""
        self._client: httpx.AsyncClient | None = None
        self.reset(fee_bp=fee_bp, fee_fixed=fee_fixed)
        self.app = Starlette(routes=self._routes())

    def reset(self, *, fee_bp: int = 290, fee_fixed: int = 30) -> None:
        """Forget everything: a fresh Stripe account for the next test."""
        self.fee_bp = fee_bp
        self.fee_fixed = fee_fixed
        self.dispute_fee = 1500
        self.webhook_url: str | None = None
        self.deliver_mode = "sync"
        self.objects: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.idempotent: dict[str, tuple[str, int, Any] | None] = {}
        self.counts: Counter[str] = Counter()
        self.log: list[str] = []
        self.deliveries: list[tuple[str, int]] = []

    # -- plumbing -------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(12)}"

    def note(self, line: str) -> None:
        self.log.append(line)
        logger.info("%s", line)

    def store(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects[obj["id"]] = obj
        self.counts[obj["object"]] += 1
        return obj

    def get(self, ident: str, kind: str) -> dict[str, Any]:
        obj = self.objects.get(ident)
        if obj is None or obj["object"] != kind:
            raise not_found(kind, ident)
        return obj

    def render(self, obj: dict[str, Any], expand: list[str] | None = None) -> dict[str, Any]:
        out = copy.deepcopy(obj)
        for path in expand or []:
            out = self._expand(out, path.split("."))
        return out

    def _expand(self, value: Any, segments: list[str]) -> Any:
        if not segments:
            return value
        if isinstance(value, list):
            return [self._expand(v, segments) for v in value]
        if not isinstance(value, dict):
            return value
        head, rest = segments[0], segments[1:]
        child = value.get(head)
        if isinstance(child, str) and child in self.objects:
            child = copy.deepcopy(self.objects[child])
        if child is not None:
            value[head] = self._expand(child, rest)
        return value

    def listing(
        self, url: str, data: list[dict[str, Any]], has_more: bool = False
    ) -> dict[str, Any]:
        return {"object": "list", "data": data, "has_more": has_more, "url": url}

    def balance_txn(
        self, *, amount: int, fee: int, type_: str, source: str, currency: str
    ) -> dict[str, Any]:
        now = int(time.time())
        return self.store(
            {
                "id": self.new_id("txn"),
                "object": "balance_transaction",
                "amount": amount,
                "fee": fee,
                "net": amount - fee,
                "currency": currency,
                "type": type_,
                "source": source,
                "status": "available",
                "created": now,
                "available_on": now,
                "fee_details": [
                    {
                        "amount": fee,
                        "currency": currency,
                        "type": "stripe_fee",
                        "description": "Stripe processing fees",
                    }
                ]
                if fee
                else [],
            }
        )

    async def emit(self, type_: str, obj: dict[str, Any]) -> dict[str, Any]:
        event = {
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type_,
        }
        self.events.append(event)
        if self.deliver_mode == "sync":
            await self.deliver(event)
        return event

    async def deliver(self, event: dict[str, Any]) -> int:
        if not self.webhook_url:
            return 0
        payload = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(payload, self.webhook_secret)
        if self._client is None:  # made on the server's own event loop, kept for speed
            self._client = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200))
        r = await self._client.post(
            self.webhook_url,
            content=payload,
            headers={"content-type": "application/json", "stripe-signature": header},
        )
        self.deliveries.append((event["id"], r.status_code))
        return r.status_code

    # -- HTTP -----------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        def api(path: str, handler: Any, method: str) -> Route:
            async def endpoint(request: Request) -> Response:
                return await self._serve(request, handler)

            return Route(path, endpoint, methods=[method])

        return [
            api("/v1/accounts", self.create_account, "POST"),
            api("/v1/accounts/{id}", self.retrieve_account, "GET"),
            api("/v1/account_links", self.create_account_link, "POST"),
            api("/v1/accounts/{id}/login_links", self.create_login_link, "POST"),
            api("/v1/payment_intents", self.create_payment_intent, "POST"),
            api("/v1/payment_intents/{id}", self.retrieve_payment_intent, "GET"),
            api("/v1/payment_intents/{id}/confirm", self.confirm_payment_intent, "POST"),
            api("/v1/charges/{id}", self.retrieve_charge, "GET"),
            api("/v1/refunds", self.create_refund, "POST"),
            api("/v1/refunds", self.list_refunds, "GET"),
            api("/v1/disputes", self.list_disputes, "GET"),
            api("/v1/transfers/{id}/reversals", self.list_reversals, "GET"),
            api("/v1/transfers/{id}/reversals", self.create_reversal, "POST"),
            api("/v1/balance_transactions", self.list_balance_transactions, "GET"),
            Route("/connect/onboarding/{id}", self.onboarding_page, methods=["GET", "POST"]),
            Route("/_test/config", self.t_config, methods=["POST"]),
            Route("/_test/reset", self.t_reset, methods=["POST"]),
            Route("/_test/payment_intents/{id}/settle", self.t_settle, methods=["POST"]),
            Route("/_test/charges/{id}/dispute", self.t_dispute, methods=["POST"]),
            Route("/_test/disputes/{id}/close", self.t_close_dispute, methods=["POST"]),
            Route("/_test/deliver", self.t_deliver, methods=["POST"]),
            Route("/_test/events", self.t_events, methods=["GET"]),
            Route("/_test/log", self.t_log, methods=["GET"]),
            Route("/_test/counts", self.t_counts, methods=["GET"]),
        ]

    async def _serve(self, request: Request, handler: Any) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.secret_key}":
            return JSONResponse(
                {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}},
                status_code=401,
            )
        if request.method == "GET":
            params = nest(parse_qsl(request.url.query, keep_blank_values=True))
        else:
            params = nest(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        key = request.headers.get("idempotency-key")
        fingerprint = json.dumps([request.url.path, params], sort_keys=True)
        if request.method == "POST" and key:
            if key in self.idempotent:
                seen = self.idempotent[key]
                if seen is None:
                    return JSONResponse(
                        {
                            "error": {
                                "type": "idempotency_error",
                                "message": "There is currently another in-progress request "
                                "using this Idempotency Key",
                            }
                        },
                        status_code=409,
                    )
                if seen[0] != fingerprint:
                    return JSONResponse(
                        {
                            "error": {
                                "type": "idempotency_error",
                                "message": "Keys for idempotent requests can only be used with the "
                                f"same parameters they were first used with ({key!r})",
                            }
                        },
                        status_code=400,
                    )
                return JSONResponse(
                    seen[2], status_code=seen[1], headers={"idempotent-replayed": "true"}
                )
            self.idempotent[key] = None
        try:
            status, body = 200, await handler(request, params)
        except StripeError as exc:
            status, body = exc.status, exc.body
        if request.method == "POST" and key:
            self.idempotent[key] = (fingerprint, status, body)
        return JSONResponse(body, status_code=status)

    # -- Connect --------------------------------------------------------------------

    async def create_account(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("type") != "express":
            raise StripeError(
                400, "invalid_request_error", "This server supports Express accounts", param="type"
            )
        account = self.store(
            {
                "id": self.new_id("acct"),
                "object": "account",
                "type": "express",
                "country": "US",
                "default_currency": "usd",
                "charges_enabled": False,
                "payouts_enabled": False,
                "details_submitted": False,
                "capabilities": {k: "inactive" for k in params.get("capabilities", {})},
                "metadata": params.get("metadata", {}),
                "created": int(time.time()),
            }
        )
        self.note(f"account {account['id']} created for {account['metadata']}")
        return account

    async def retrieve_account(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        return self.render(self.get(request.path_params["id"], "account"))

    async def create_account_link(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        account = self.get(str(params.get("account")), "account")
        if params.get("type") != "account_onboarding":
            raise StripeError(400, "invalid_request_error", "Invalid type", param="type")
        for name in ("refresh_url", "return_url"):
            if not str(params.get(name, "")).startswith(("http://", "https://")):
                raise StripeError(
                    400, "invalid_request_error", f"Missing required param: {name}.", param=name
                )
        account["_return_url"] = params["return_url"]
        now = int(time.time())
        return {
            "object": "account_link",
            "created": now,
            "expires_at": now + 300,
            "url": f"{self.base_url}/connect/onboarding/{account['id']}",
        }

    async def create_login_link(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        account = self.get(request.path_params["id"], "account")
        if not account["details_submitted"]:
            raise StripeError(
                400,
                "invalid_request_error",
                "Cannot create a login link for an account that has not completed onboarding.",
                param="account",
            )
        return {
            "object": "login_link",
            "created": int(time.time()),
            "url": f"{self.base_url}/express/{account['id']}",
        }

    async def onboarding_page(self, request: Request) -> Response:
        account = self.objects.get(request.path_params["id"])
        if account is None:
            return HTMLResponse("no such account", status_code=404)
        if request.method == "GET":
            return HTMLResponse(
                f"<form method=post><p>Onboarding {account['id']}</p>"
                "<button>Agree and submit</button></form>"
            )
        account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
        account["capabilities"] = {"card_payments": "active", "transfers": "active"}
        self.note(f"account {account['id']} onboarded: charges enabled")
        await self.emit("account.updated", self.render(account))
        return RedirectResponse(account.get("_return_url", "/"), status_code=303)

    # -- payments -------------------------------------------------------------------

    async def create_payment_intent(
        self, request: Request, params: dict[str, Any]
    ) -> dict[str, Any]:
        amount = as_int(params, "amount")
        currency = str(params.get("currency", "")).lower()
        if amount < 50:
            raise StripeError(
                400,
                "invalid_request_error",
                "Amount must be at least 50",
                param="amount",
                code="amount_too_small",
            )
        transfer = params.get("transfer_data") or {}
        destination = self.get(str(transfer.get("destination")), "account")
        if not destination["charges_enabled"]:
            raise StripeError(
                400,
                "invalid_request_error",
                "The destination account cannot receive charges",
                param="transfer_data[destination]",
            )
        transfer_amount = as_int(transfer, "amount") if "amount" in transfer else amount
        if transfer_amount > amount:
            raise StripeError(
                400,
                "invalid_request_error",
                "transfer_data[amount] exceeds the amount",
                param="transfer_data[amount]",
            )
        ident = self.new_id("pi")
        intent = self.store(
            {
                "id": ident,
                "object": "payment_intent",
                "amount": amount,
                "amount_received": 0,
                "currency": currency,
                "status": "requires_payment_method",
                "client_secret": f"{ident}_secret_{secrets.token_hex(8)}",
                "automatic_payment_methods": {"enabled": True},
                "transfer_data": {"destination": destination["id"], "amount": transfer_amount},
                "metadata": params.get("metadata", {}),
                "description": params.get("description"),
                "latest_charge": None,
                "last_payment_error": None,
                "payment_method": None,
                "created": int(time.time()),
                "livemode": False,
            }
        )
        self.note(
            f"payment_intent {ident} created: amount {amount} {currency}, "
            f"transfer {transfer_amount} to {destination['id']}"
        )
        return self.render(intent)

    async def retrieve_payment_intent(
        self, request: Request, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self.render(
            self.get(request.path_params["id"], "payment_intent"), params.get("expand")
        )

    async def retrieve_charge(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        return self.render(self.get(request.path_params["id"], "charge"), params.get("expand"))

    async def confirm_payment_intent(
        self, request: Request, params: dict[str, Any]
    ) -> dict[str, Any]:
        intent = self.get(request.path_params["id"], "payment_intent")
        if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
            raise StripeError(
                400,
                "invalid_request_error",
                f"This PaymentIntent's status is {intent['status']}",
                code="payment_intent_unexpected_state",
            )
        method = str(params.get("payment_method", ""))
        intent["payment_method"] = method
        if method == "pm_card_chargeDeclined":
            error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
                "param": "payment_method",
            }
            intent["last_payment_error"] = error
            intent["status"] = "requires_payment_method"
            self.note(f"payment_intent {intent['id']} declined")
            await self.emit("payment_intent.payment_failed", self.render(intent))
            raise StripeError(
                402,
                "card_error",
                error["message"],
                code="card_declined",
                decline_code="generic_decline",
                param="payment_method",
                payment_intent=self.render(intent),
            )
        if method == "pm_usBankAccount":
            intent["status"] = "processing"
            intent["last_payment_error"] = None
            await self.emit("payment_intent.processing", self.render(intent))
            return self.render(intent)
        if method != "pm_card_visa":
            raise StripeError(
                400,
                "invalid_request_error",
                f"No such PaymentMethod: '{method}'",
                param="payment_method",
                code="resource_missing",
            )
        await self._succeed(intent)
        return self.render(intent)

    def fee_for(self, amount: int) -> int:
        return (2 * amount * self.fee_bp + 10000) // 20000 + self.fee_fixed

    async def _succeed(self, intent: dict[str, Any]) -> None:
        amount, currency = intent["amount"], intent["currency"]
        destination = intent["transfer_data"]["destination"]
        transfer_amount = intent["transfer_data"]["amount"]
        charge_id = self.new_id("ch")
        fee = self.fee_for(amount)
        charge_bt = self.balance_txn(
            amount=amount, fee=fee, type_="charge", source=charge_id, currency=currency
        )
        transfer_id = self.new_id("tr")
        transfer_bt = self.balance_txn(
            amount=-transfer_amount, fee=0, type_="transfer", source=transfer_id, currency=currency
        )
        self.store(
            {
                "id": transfer_id,
                "object": "transfer",
                "amount": transfer_amount,
                "amount_reversed": 0,
                "currency": currency,
                "destination": destination,
                "source_transaction": charge_id,
                "balance_transaction": transfer_bt["id"],
                "reversals": self.listing(f"/v1/transfers/{transfer_id}/reversals", []),
                "reversed": False,
                "created": int(time.time()),
            }
        )
        charge = self.store(
            {
                "id": charge_id,
                "object": "charge",
                "amount": amount,
                "amount_captured": amount,
                "amount_refunded": 0,
                "currency": currency,
                "status": "succeeded",
                "paid": True,
                "captured": True,
                "refunded": False,
                "disputed": False,
                "balance_transaction": charge_bt["id"],
                "payment_intent": intent["id"],
                "payment_method": intent["payment_method"],
                "transfer": transfer_id,
                "transfer_data": {"destination": destination, "amount": transfer_amount},
                "destination": destination,
                "created": int(time.time()),
            }
        )
        intent.update(
            status="succeeded",
            amount_received=amount,
            latest_charge=charge["id"],
            last_payment_error=None,
        )
        self.note(
            f"payment {intent['id']}: X={transfer_amount} gross={amount} fee={fee} "
            f"creator transfer={transfer_amount} to {destination} ({currency}); "
            f"platform net {amount - fee - transfer_amount}"
        )
        await self.emit("charge.succeeded", self.render(charge))
        await self.emit("payment_intent.succeeded", self.render(intent))
