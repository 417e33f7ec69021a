"""The local Stripe server's test controls: what Stripe's dashboard, a bank or a
cardholder would do, driven over HTTP by the tests."""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class TestControls:
    """Mixed into the server; uses its state and plumbing."""

    objects: dict[str, dict[str, Any]]
    events: list[dict[str, Any]]
    log: list[str]
    counts: Any
    dispute_fee: int

    async def t_reset(self, request: Request) -> Response:
        self.reset()  # type: ignore[attr-defined]
        return JSONResponse({"ok": True})

    async def t_config(self, request: Request) -> Response:
        body = await request.json()
        if "deliver" in body:
            self.deliver_mode = body["deliver"]
        for name in ("fee_bp", "fee_fixed", "webhook_url"):
            if name in body:
                setattr(self, name, body[name])
        return JSONResponse({"ok": True})

    async def t_settle(self, request: Request) -> Response:
        intent = self.objects[request.path_params["id"]]
        await self._succeed(intent)
        return JSONResponse(self.render(intent))

    async def t_dispute(self, request: Request) -> Response:
        charge = self.objects[request.path_params["id"]]
        dispute_id = self.new_id("dp")
        bt = self.balance_txn(
            amount=-charge["amount"],
            fee=self.dispute_fee,
            type_="adjustment",
            source=dispute_id,
            currency=charge["currency"],
        )
        dispute = self.store(
            {
                "id": dispute_id,
                "object": "dispute",
                "amount": charge["amount"],
                "charge": charge["id"],
                "payment_intent": charge["payment_intent"],
                "currency": charge["currency"],
                "reason": "fraudulent",
                "status": "needs_response",
                "is_charge_refundable": False,
                "balance_transactions": [copy.deepcopy(bt)],
                "created": int(time.time()),
            }
        )
        charge["disputed"] = True
        self.note(
            f"dispute {dispute_id} opened on {charge['id']}: {charge['amount']} withdrawn, "
            f"fee {self.dispute_fee}"
        )
        await self.emit("charge.dispute.created", self.render(dispute))
        return JSONResponse(self.render(dispute))

    async def t_close_dispute(self, request: Request) -> Response:
        dispute = self.objects[request.path_params["id"]]
        outcome = (await request.json())["status"]
        dispute["status"] = outcome
        if outcome == "won":
            bt = self.balance_txn(
                amount=dispute["amount"],
                fee=-self.dispute_fee,
                type_="adjustment",
                source=dispute["id"],
                currency=dispute["currency"],
            )
            dispute["balance_transactions"].append(copy.deepcopy(bt))
        self.note(f"dispute {dispute['id']} closed: {outcome}")
        await self.emit("charge.dispute.closed", self.render(dispute))
        return JSONResponse(self.render(dispute))

    async def t_deliver(self, request: Request) -> Response:
        body = await request.json()
        by_id = {e["id"]: e for e in self.events}
        events = [by_id[i] for i in body["events"]]
        times = int(body.get("times", 1))
        statuses = await asyncio.gather(*(self.deliver(e) for e in events for _ in range(times)))
        return JSONResponse({"statuses": list(statuses)})

    async def t_events(self, request: Request) -> Response:
        return JSONResponse(self.events)

    async def t_log(self, request: Request) -> Response:
        return JSONResponse(self.log)

    async def t_counts(self, request: Request) -> Response:
        return JSONResponse(dict(self.counts))
