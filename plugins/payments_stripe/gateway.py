"""The one door to Stripe's API: the official ``stripe`` SDK, pointed at ``api_base``.

Every POST carries an Idempotency-Key chosen by the caller (stored with what it
creates), so a request the SDK retries, or that Salon repeats, never creates twice.
Objects come back as plain dicts.
"""

from __future__ import annotations

import logging
from typing import Any

import stripe

from .errors import StripeRefused, StripeUnavailable

logger = logging.getLogger(__name__)

# Enough of the charge to book it: its balance transaction (amount, fee) and the
# transfer to the creator (with its reversals).
PAYMENT_EXPAND = ["latest_charge.balance_transaction", "latest_charge.transfer"]


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


class StripeGateway:
    """Stripe's API as Salon uses it."""

    def __init__(self, secret_key: str, api_base: str, *, max_network_retries: int = 2):
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base, "connect": api_base, "files": api_base},
            max_network_retries=max_network_retries,
        )

    async def _call(self, what: str, method: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return _plain(await method(*args, **kwargs))
        except (stripe.InvalidRequestError, stripe.CardError, stripe.IdempotencyError) as exc:
            logger.warning("Stripe refused %s: %s", what, exc.user_message)
            raise StripeRefused(
                f"Stripe refused {what}: {exc.user_message}", field=getattr(exc, "param", None)
            ) from exc
        except stripe.StripeError as exc:
            logger.warning("Stripe call %s failed: %s", what, exc)
            raise StripeUnavailable(f"Stripe did not answer {what}: {exc.user_message}") from exc

    # -- Connect --------------------------------------------------------------------

    async def create_account(self, *, user_id: int, idempotency_key: str) -> dict[str, Any]:
        return await self._call(
            "account create",
            self.client.v1.accounts.create_async,
            params={
                "type": "express",
                "capabilities": {
                    "card_payments": {"requested": True},
                    "transfers": {"requested": True},
                },
                "metadata": {"salon_user_id": str(user_id)},
            },
            options={"idempotency_key": idempotency_key},
        )

    async def retrieve_account(self, account_id: str) -> dict[str, Any]:
        return await self._call(
            "account retrieve", self.client.v1.accounts.retrieve_async, account_id
        )

    async def onboarding_link(
        self, account_id: str, *, refresh_url: str, return_url: str, idempotency_key: str
    ) -> dict[str, Any]:
        return await self._call(
            "account link create",
            self.client.v1.account_links.create_async,
            params={
                "account": account_id,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "type": "account_onboarding",
            },
            options={"idempotency_key": idempotency_key},
        )

    async def login_link(self, account_id: str, *, idempotency_key: str) -> dict[str, Any]:
        return await self._call(
            "login link create",
            self.client.v1.accounts.login_links.create_async,
            account_id,
            options={"idempotency_key": idempotency_key},
        )

    # -- payments -------------------------------------------------------------------

    async def create_payment_intent(
        self,
        *,
        gross: int,
        currency: str,
        destination: str,
        transfer_amount: int,
        metadata: dict[str, str],
        description: str,
        idempotency_key: str,
    ) -> dict[str, Any]:
        """A destination charge: the creator's transfer is exactly TRANSFER_AMOUNT."""
        return await self._call(
            "payment intent create",
            self.client.v1.payment_intents.create_async,
            params={
                "amount": gross,
                "currency": currency,
                "automatic_payment_methods": {"enabled": True},
                "transfer_data": {"destination": destination, "amount": transfer_amount},
                "metadata": metadata,
                "description": description,
            },
            options={"idempotency_key": idempotency_key},
        )

    async def payment_intent(self, intent_id: str) -> dict[str, Any]:
        return await self._call(
            "payment intent retrieve",
            self.client.v1.payment_intents.retrieve_async,
            intent_id,
            params={"expand": PAYMENT_EXPAND},
        )

    async def charge(self, charge_id: str) -> dict[str, Any]:
        return await self._call("charge retrieve", self.client.v1.charges.retrieve_async, charge_id)

    async def refunds(self, charge_id: str) -> list[dict[str, Any]]:
        found = await self._call(
            "refund list",
            self.client.v1.refunds.list_async,
            params={"charge": charge_id, "limit": 100, "expand": ["data.transfer_reversal"]},
        )
        return list(found.get("data", []))

    async def disputes(self, charge_id: str) -> list[dict[str, Any]]:
        found = await self._call(
            "dispute list",
            self.client.v1.disputes.list_async,
            params={"charge": charge_id, "limit": 100},
        )
        return list(found.get("data", []))

    async def reversals(self, transfer_id: str) -> list[dict[str, Any]]:
        found = await self._call(
            "transfer reversal list",
            self.client.v1.transfers.reversals.list_async,
            transfer_id,
            params={"limit": 100},
        )
        return list(found.get("data", []))

    async def create_refund(
        self, *, intent_id: str, amount: int, idempotency_key: str
    ) -> dict[str, Any]:
        """Refund AMOUNT to the payer, reversing the creator's transfer in proportion."""
        return await self._call(
            "refund create",
            self.client.v1.refunds.create_async,
            params={"payment_intent": intent_id, "amount": amount, "reverse_transfer": True},
            options={"idempotency_key": idempotency_key},
        )

    async def reverse_transfer(
        self, transfer_id: str, *, amount: int, idempotency_key: str
    ) -> dict[str, Any]:
        return await self._call(
            "transfer reversal create",
            self.client.v1.transfers.reversals.create_async,
            transfer_id,
            params={"amount": amount},
            options={"idempotency_key": idempotency_key},
        )

    # -- reconciliation (the command line is synchronous) ---------------------------

    def balance_transactions(self, start: int, end: int) -> list[dict[str, Any]]:
        """Every balance transaction created in [START, END) (Unix seconds)."""
        page = self.client.v1.balance_transactions.list(
            params={"created": {"gte": start, "lt": end}, "limit": 100}
        )
        return [_plain(t) for t in page.auto_paging_iter()]
