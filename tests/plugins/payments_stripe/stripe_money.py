"""The local Stripe server's refunds, transfer reversals, disputes and balance
transactions (Stripe's shapes; refunds with ``reverse_transfer`` reverse the creator's
transfer in proportion, a refund of what is left takes the rest)."""

from __future__ import annotations

import copy
import time
from typing import Any

from starlette.requests import Request

from .stripe_wire import StripeError, as_int


class MoneyMovements:
    """Mixed into the server; uses its state and plumbing."""

    objects: dict[str, dict[str, Any]]

    async def create_refund(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        if "payment_intent" in params:
            intent = self.get(str(params["payment_intent"]), "payment_intent")
            if not intent["latest_charge"]:
                raise StripeError(
                    400,
                    "invalid_request_error",
                    "This PaymentIntent has no successful charge to refund",
                    param="payment_intent",
                )
            charge = self.objects[intent["latest_charge"]]
        else:
            charge = self.get(str(params.get("charge")), "charge")
        left = charge["amount"] - charge["amount_refunded"]
        amount = as_int(params, "amount") if "amount" in params else left
        if amount < 1 or amount > left:
            raise StripeError(
                400,
                "invalid_request_error",
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                param="amount",
                code="amount_too_large",
            )
        refund_id = self.new_id("re")
        bt = self.balance_txn(
            amount=-amount, fee=0, type_="refund", source=refund_id, currency=charge["currency"]
        )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        reversal = None
        if str(params.get("reverse_transfer")) == "true" and charge.get("transfer"):
            transfer = self.objects[charge["transfer"]]
            remaining = transfer["amount"] - transfer["amount_reversed"]
            # In proportion to the refund; a refund of what is left takes the rest.
            share = (
                remaining
                if charge["refunded"]
                else (2 * amount * transfer["amount"] + charge["amount"]) // (2 * charge["amount"])
            )
            reversal = self._reverse(transfer, min(share, remaining), source_refund=refund_id)
        refund = self.store(
            {
                "id": refund_id,
                "object": "refund",
                "amount": amount,
                "charge": charge["id"],
                "payment_intent": charge["payment_intent"],
                "currency": charge["currency"],
                "status": "succeeded",
                "balance_transaction": bt["id"],
                "transfer_reversal": reversal["id"] if reversal else None,
                "created": int(time.time()),
            }
        )
        self.note(
            f"refund {refund_id} of {amount} on {charge['id']}, "
            f"transfer reversed {reversal['amount'] if reversal else 0}"
        )
        await self.emit("charge.refunded", self.render(charge))
        if reversal is not None:
            await self.emit("transfer.reversed", self.render(self.objects[charge["transfer"]]))
        return self.render(refund)

    def _reverse(
        self, transfer: dict[str, Any], amount: int, *, source_refund: str | None = None
    ) -> dict[str, Any]:
        reversal_id = self.new_id("trr")
        bt = self.balance_txn(
            amount=amount,
            fee=0,
            type_="transfer_refund",
            source=reversal_id,
            currency=transfer["currency"],
        )
        reversal = self.store(
            {
                "id": reversal_id,
                "object": "transfer_reversal",
                "amount": amount,
                "currency": transfer["currency"],
                "transfer": transfer["id"],
                "balance_transaction": bt["id"],
                "source_refund": source_refund,
                "created": int(time.time()),
            }
        )
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        transfer["reversals"]["data"].append(copy.deepcopy(reversal))
        return reversal

    async def list_refunds(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        charge = params.get("charge")
        found = [
            self.render(
                o,
                [
                    p.removeprefix("data.")
                    for p in params.get("expand", [])
                    if p.startswith("data.")
                ],
            )
            for o in self.objects.values()
            if o["object"] == "refund" and (charge is None or o["charge"] == charge)
        ]
        return self.listing("/v1/refunds", sorted(found, key=lambda o: -o["created"]))

    async def list_disputes(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        charge = params.get("charge")
        found = [
            self.render(o)
            for o in self.objects.values()
            if o["object"] == "dispute" and (charge is None or o["charge"] == charge)
        ]
        return self.listing("/v1/disputes", found)

    async def list_reversals(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        transfer = self.get(request.path_params["id"], "transfer")
        return self.render(transfer["reversals"])

    async def create_reversal(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        transfer = self.get(request.path_params["id"], "transfer")
        remaining = transfer["amount"] - transfer["amount_reversed"]
        amount = as_int(params, "amount") if "amount" in params else remaining
        if amount < 1 or amount > remaining:
            raise StripeError(
                400,
                "invalid_request_error",
                f"You cannot reverse more than the remaining {remaining}",
                param="amount",
            )
        reversal = self._reverse(transfer, amount)
        self.note(f"transfer {transfer['id']} reversed by {amount}")
        await self.emit("transfer.reversed", self.render(transfer))
        return self.render(reversal)

    async def list_balance_transactions(
        self, request: Request, params: dict[str, Any]
    ) -> dict[str, Any]:
        created = params.get("created") or {}
        gte = int(created.get("gte", 0))
        lt = int(created.get("lt", 2**62))
        found = sorted(
            (
                o
                for o in self.objects.values()
                if o["object"] == "balance_transaction" and gte <= o["created"] < lt
            ),
            key=lambda o: (-o["created"], o["id"]),
        )
        after = params.get("starting_after")
        if after:
            ids = [o["id"] for o in found]
            found = found[ids.index(after) + 1 :] if after in ids else []
        limit = int(params.get("limit", 10))
        page = [self.render(o) for o in found[:limit]]
        return self.listing("/v1/balance_transactions", page, has_more=len(found) > limit)
