"""The payments domain: onboarding creators, starting payments, applying Stripe's
events, and what creators, payers and admins see. HTTP handlers call this."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from salon.core.db import Database
from salon.core.errors import Conflict, NotFound, ValidationFailed
from salon.core.models import User
from salon.core.permissions import PAYMENTS_SEND, Permissions

from . import booking, ledger
from .errors import StripeRefused, StripeUnavailable
from .fees import Breakdown, breakdown, exponent
from .gateway import StripeGateway
from .models import ConnectAccount, Payment, WebhookEvent, utcnow
from .settings import PaymentsSettings
from .states import PAID, State

logger = logging.getLogger(__name__)

# The events Salon acts on (issue 5); others are stored and acknowledged.
HANDLED_EVENTS = frozenset(
    {
        "account.updated",
        "payment_intent.succeeded",
        "payment_intent.processing",
        "payment_intent.payment_failed",
        "charge.refunded",
        "charge.dispute.created",
        "charge.dispute.closed",
        "transfer.reversed",
    }
)


@dataclass
class Started:
    payment: Payment
    client_secret: str
    breakdown: Breakdown


class PaymentService:
    """Everything the plugin does, for one instance."""

    def __init__(
        self,
        *,
        settings: PaymentsSettings,
        gateway: StripeGateway,
        webhook_secret: str,
        db: Database,
        permissions: Permissions,
        base_url: str,
    ):
        self.settings = settings
        self.gateway = gateway
        self.webhook_secret = webhook_secret
        self.db = db
        self.permissions = permissions
        self.base_url = base_url
        # SQLite has one writer at a time: deliveries that arrive together queue here
        # instead of polling SQLite's busy handler. The database's own guarantees (the
        # unique event id, the claiming UPDATE) are what make an event apply once.
        self._sqlite_writes = asyncio.Lock() if db.engine.dialect.name == "sqlite" else None

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        if self._sqlite_writes is None:
            yield
            return
        async with self._sqlite_writes:
            yield

    # -- amounts --------------------------------------------------------------------

    def quote(self, amount: int) -> Breakdown:
        s = self.settings
        if amount < s.min_amount or amount > s.max_amount:
            raise ValidationFailed(
                f"amount must be between {s.min_amount} and {s.max_amount} "
                f"(minor units of {s.currency})",
                field="amount",
            )
        return breakdown(amount, s.currency, s.fee_rule())

    def public_config(self) -> dict[str, Any]:
        s = self.settings
        return {
            "currency": s.currency,
            "exponent": exponent(s.currency),
            "min_amount": s.min_amount,
            "max_amount": s.max_amount,
            "presets": [p for p in s.presets if s.min_amount <= p <= s.max_amount],
            "publishable_key": s.publishable_key,
        }

    # -- creators' accounts ---------------------------------------------------------

    async def account_of(self, user_id: int) -> ConnectAccount | None:
        async with self.db.session() as session:
            return (
                await session.exec(select(ConnectAccount).where(ConnectAccount.user_id == user_id))
            ).first()

    async def onboarding_link(self, user: User) -> str:
        """Create the creator's Express account if needed; a fresh onboarding link."""
        account = await self.account_of(user.id)  # type: ignore[arg-type]
        if account is None:
            created = await self.gateway.create_account(
                user_id=user.id,  # type: ignore[arg-type]
                idempotency_key=f"salon-account-{user.id}",
            )
            async with self.db.session() as session:
                session.add(ConnectAccount(user_id=user.id, stripe_account_id=created["id"]))  # type: ignore[arg-type]
                try:
                    await session.commit()
                except IntegrityError:
                    await session.rollback()  # a concurrent request stored the same account
            account = await self.account_of(user.id)  # type: ignore[arg-type]
            assert account is not None
            logger.info("%s has Stripe account %s", user.username, account.stripe_account_id)
        link = await self.gateway.onboarding_link(
            account.stripe_account_id,
            refresh_url=f"{self.base_url}/payments/onboarding",
            return_url=f"{self.base_url}/payments?onboarding=return",
            idempotency_key=f"salon-onboarding-{account.id}-{uuid.uuid4().hex}",
        )
        return link["url"]

    async def dashboard_link(self, user: User) -> str:
        account = await self.account_of(user.id)  # type: ignore[arg-type]
        if account is None or not account.details_submitted:
            raise Conflict("finish onboarding with Stripe first", field="account")
        link = await self.gateway.login_link(
            account.stripe_account_id, idempotency_key=f"salon-login-{uuid.uuid4().hex}"
        )
        return link["url"]

    async def refresh_account(self, stripe_account_id: str) -> ConnectAccount | None:
        """Read the account's state from Stripe and store it."""
        remote = await self.gateway.retrieve_account(stripe_account_id)
        async with self.db.session() as session:
            account = await self._store_account(session, remote)
            await session.commit()
        return account

    @staticmethod
    async def _store_account(session: Any, remote: dict[str, Any]) -> ConnectAccount | None:
        account = (
            await session.exec(
                select(ConnectAccount).where(ConnectAccount.stripe_account_id == remote["id"])
            )
        ).first()
        if account is None:
            return None
        account.charges_enabled = bool(remote.get("charges_enabled"))
        account.payouts_enabled = bool(remote.get("payouts_enabled"))
        account.details_submitted = bool(remote.get("details_submitted"))
        account.updated_at = utcnow()
        account.version += 1
        session.add(account)
        await session.flush()
        if account.charges_enabled:
            logger.info("Stripe account %s can receive payments", remote["id"])
        return account

    @staticmethod
    def status_of(account: ConnectAccount | None) -> str:
        if account is None:
            return "none"
        return "enabled" if account.charges_enabled else "pending"

    # -- paying ---------------------------------------------------------------------

    async def start_payment(
        self,
        payer: User,
        creator: User,
        amount: int,
        *,
        anonymous: bool = False,
        room_id: int | None = None,
        request_id: str | None = None,
    ) -> Started:
        """Create the payment and its PaymentIntent (a destination charge of the grossed-up
        total, transferring exactly AMOUNT to the creator)."""
        quote = self.quote(amount)
        await self.permissions.check(payer, PAYMENTS_SEND, creator)
        account = await self.account_of(creator.id)  # type: ignore[arg-type]
        if account is None or not account.charges_enabled:
            raise Conflict(f"@{creator.username} cannot receive money yet", field="creator")
        payment = None
        if request_id:
            payment = await self._by_request(payer.id, request_id)  # type: ignore[arg-type]
            if payment is not None and (
                payment.creator_id != creator.id or payment.amount != amount
            ):
                raise Conflict("request_id was used for another payment", field="request_id")
        if payment is None:
            payment = Payment(
                payer_id=payer.id,  # type: ignore[arg-type]
                creator_id=creator.id,  # type: ignore[arg-type]
                room_id=room_id,
                stripe_account_id=account.stripe_account_id,
                currency=quote.currency,
                amount=quote.amount,
                gross=quote.gross,
                fee_estimate=quote.fee,
                anonymous=anonymous,
                idempotency_key=f"salon-payment-{uuid.uuid4().hex}",
                request_id=request_id,
            )
            async with self.db.session() as session:
                session.add(payment)
                try:
                    await session.commit()
                except IntegrityError:
                    await session.rollback()
                    payment = await self._by_request(payer.id, request_id or "")  # type: ignore[arg-type]
                    if payment is None:
                        raise
                else:
                    await session.refresh(payment)
        # Same key on every attempt: a retry returns the PaymentIntent created before.
        intent = await self.gateway.create_payment_intent(
            gross=payment.gross,
            currency=payment.currency,
            destination=payment.stripe_account_id,
            transfer_amount=payment.amount,
            metadata={
                "salon_payment_id": str(payment.id),
                "salon_payer_id": str(payer.id),
                "salon_creator_id": str(creator.id),
            },
            description=f"Salon: to @{creator.username}",
            idempotency_key=payment.idempotency_key,
        )
        if payment.payment_intent_id != intent["id"]:
            async with self.db.session() as session:
                await session.exec(
                    update(Payment)
                    .where(col(Payment.id) == payment.id)
                    .values(payment_intent_id=intent["id"], updated_at=utcnow())
                )
                await session.commit()
            payment.payment_intent_id = intent["id"]
        logger.info(
            "payment %s: %s pays @%s %d %s (charged %d)",
            payment.id,
            payer.username,
            creator.username,
            payment.amount,
            payment.currency,
            payment.gross,
        )
        return Started(payment=payment, client_secret=intent["client_secret"], breakdown=quote)

    async def _by_request(self, payer_id: int, request_id: str) -> Payment | None:
        async with self.db.session() as session:
            return (
                await session.exec(
                    select(Payment).where(
                        Payment.payer_id == payer_id, Payment.request_id == request_id
                    )
                )
            ).first()

    async def get_payment(self, payment_id: int) -> Payment:
        async with self.db.session() as session:
            payment = await session.get(Payment, payment_id)
        if payment is None:
            raise NotFound(f"no payment {payment_id}", field="payment_id")
        return payment

    async def refund(self, payment: Payment, amount: int | None) -> dict[str, Any]:
        """Refund AMOUNT (default: what is left) to the payer; the creator's transfer is
        reversed in proportion. The ledger books it when Stripe's event arrives."""
        if payment.state not in (State.SUCCEEDED, State.PARTIALLY_REFUNDED):
            raise Conflict(f"a {payment.state} payment cannot be refunded", field="payment_id")
        assert payment.payment_intent_id is not None
        charge = (await self.gateway.payment_intent(payment.payment_intent_id)).get("latest_charge")
        if not isinstance(charge, dict):
            raise Conflict("the payment has no charge to refund", field="payment_id")
        left = int(charge["amount"]) - int(charge.get("amount_refunded") or 0)
        value = left if amount is None else amount
        if value < 1 or value > left:
            raise ValidationFailed(f"amount must be between 1 and {left}", field="amount")
        try:
            refund = await self.gateway.create_refund(
                intent_id=payment.payment_intent_id,
                amount=value,
                idempotency_key=f"salon-refund-{payment.id}-{left}-{value}",
            )
        except StripeRefused as exc:
            raise ValidationFailed(exc.message, field="amount") from exc
        logger.info("payment %s: refund %s of %d requested", payment.id, refund["id"], value)
        return refund

    # -- webhooks -------------------------------------------------------------------

    async def receive(self, event: dict[str, Any]) -> str:
        """Store a verified event once and apply it at most once. Returns what happened:
        ``applied``, ``duplicate`` or ``ignored``."""
        event_id, kind = str(event["id"]), str(event["type"])
        obj = (event.get("data") or {}).get("object") or {}
        async with self._writing(), self.db.session() as session:
            session.add(
                WebhookEvent(event_id=event_id, type=kind, object_id=str(obj.get("id", ""))[:255])
            )
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
            stored = (
                await session.exec(select(WebhookEvent).where(WebhookEvent.event_id == event_id))
            ).one()
        if stored.applied_at is not None:
            return "duplicate"
        if kind not in HANDLED_EVENTS:
            await self._apply(event_id, None, None)
            return "ignored"
        if kind == "account.updated":
            return await self._apply_account(event_id, str(obj.get("id", "")))
        payment, snapshot = await self._payment_snapshot(kind, obj)
        if payment is None or snapshot is None:
            applied = await self._apply(event_id, None, None)
            return "ignored" if applied else "duplicate"
        applied = await self._apply(event_id, payment.id, snapshot)
        if applied:
            await self._after(payment.id, snapshot)  # type: ignore[arg-type]
        return "applied" if applied else "duplicate"

    async def _apply_account(self, event_id: str, account_id: str) -> str:
        # The event is a trigger: the account's state is read from the API, then stored
        # in the transaction that claims the event.
        remote = await self.gateway.retrieve_account(account_id)
        async with self._writing(), self.db.session() as session:
            if not await self._claim(session, event_id):
                return "duplicate"
            account = await self._store_account(session, remote)
            await session.commit()
        return "applied" if account is not None else "ignored"

    @staticmethod
    async def _claim(session: Any, event_id: str) -> bool:
        """Mark the event applied, in SESSION's transaction; False if it already was.
        The conditional UPDATE is also the lock that serialises concurrent deliveries."""
        claimed = await session.exec(
            update(WebhookEvent)
            .where(col(WebhookEvent.event_id) == event_id, col(WebhookEvent.applied_at).is_(None))
            .values(applied_at=utcnow())
        )
        if claimed.rowcount != 1:
            await session.rollback()
            return False
        return True

    async def _apply(
        self, event_id: str, payment_id: int | None, snapshot: booking.Snapshot | None
    ) -> bool:
        """In one transaction: claim the event (applied at most once), lock the payment,
        book the snapshot's new facts. False when another delivery applied it first."""
        async with self._writing(), self.db.session() as session:
            if not await self._claim(session, event_id):
                return False
            if payment_id is not None and snapshot is not None:
                # Row lock: deliveries for the same payment book one after another.
                await session.exec(
                    update(Payment)
                    .where(col(Payment.id) == payment_id)
                    .values(version=col(Payment.version) + 1)
                )
                payment = (
                    await session.exec(
                        select(Payment)
                        .where(Payment.id == payment_id)
                        .execution_options(populate_existing=True)
                    )
                ).one()
                result = await booking.book(session, payment, snapshot, event_id=event_id)
                if result.after != result.before or result.txns:
                    logger.info(
                        "payment %s: %s -> %s, %d ledger transactions (event %s)",
                        payment_id,
                        result.before,
                        result.after,
                        result.txns,
                        event_id,
                    )
            await session.commit()
        return True

    async def _payment_snapshot(
        self, kind: str, obj: dict[str, Any]
    ) -> tuple[Payment | None, booking.Snapshot | None]:
        intent_id = await self._intent_id(kind, obj)
        if not intent_id:
            return None, None
        snapshot = await booking.fetch(self.gateway, intent_id)
        async with self.db.session() as session:
            payment = (
                await session.exec(select(Payment).where(Payment.payment_intent_id == intent_id))
            ).first()
            if payment is None:
                # Created, but the PaymentIntent's id was not stored (a crash in between).
                local_id = (snapshot.intent.get("metadata") or {}).get("salon_payment_id", "")
                if str(local_id).isdigit():
                    payment = await session.get(Payment, int(local_id))
                    if payment is not None and payment.payment_intent_id is None:
                        payment.payment_intent_id = intent_id
                        session.add(payment)
                        await session.commit()
                        await session.refresh(payment)
                    elif payment is not None:
                        payment = None
        return payment, snapshot

    async def _intent_id(self, kind: str, obj: dict[str, Any]) -> str:
        if kind.startswith("payment_intent."):
            return str(obj.get("id", ""))
        if kind == "charge.refunded":
            return _id(obj.get("payment_intent"))
        if kind.startswith("charge.dispute."):
            intent = _id(obj.get("payment_intent"))
            if intent:
                return intent
            charge_id = _id(obj.get("charge"))
        elif kind == "transfer.reversed":
            charge_id = _id(obj.get("source_transaction"))
        else:
            return ""
        if not charge_id:
            return ""
        charge = await self.gateway.charge(charge_id)
        return _id(charge.get("payment_intent"))

    async def _after(self, payment_id: int, snapshot: booking.Snapshot) -> None:
        """A lost dispute: take back what the creator still holds of the transfer
        (``reverse_transfer_on_lost_dispute``); its event books the reversal."""
        dispute = booking.lost_dispute(snapshot)
        if dispute is None or not self.settings.reverse_transfer_on_lost_dispute:
            return
        left, transfer = booking.unreversed(snapshot), snapshot.transfer
        if left <= 0 or transfer is None:
            return
        try:
            await self.gateway.reverse_transfer(
                transfer["id"], amount=left, idempotency_key=f"salon-dispute-lost-{dispute['id']}"
            )
        except (StripeUnavailable, StripeRefused) as exc:
            logger.warning("payment %s: could not reverse the transfer: %s", payment_id, exc)
            return
        logger.info("payment %s: lost dispute, %d taken back from the creator", payment_id, left)

    # -- what people see ------------------------------------------------------------

    # -- deleted accounts -----------------------------------------------------------

    async def account_deleted(self, user: User) -> dict[str, Any]:
        """USER deleted their account. Money records are append-only, so nothing is
        written: payments and the ledger stay, payments still in flight (as payer or
        creator) are settled by Stripe's webhooks as before, and the Connect account
        stays the person's own at Stripe. Salon stops paying them through
        ``salon_permission`` (``payments.send`` to a deleted account is refused). Logs
        what stays, for the operator."""
        paid = [s.value for s in PAID]  # a failed card may still be retried
        async with self.db.session() as session:
            in_flight = (
                await session.exec(
                    select(Payment.id).where(
                        or_(Payment.payer_id == user.id, Payment.creator_id == user.id),
                        col(Payment.state).not_in(paid),
                    )
                )
            ).all()
        account = await self.account_of(user.id)  # type: ignore[arg-type]
        kept = {
            "stripe_account": account.stripe_account_id if account else None,
            "payments_in_flight": list(in_flight),
        }
        logger.info("account %s deleted; payments kept as they are: %s", user.username, kept)
        return kept

    async def earnings(self, creator: User) -> dict[str, Any]:
        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(Payment, User)
                    .where(Payment.creator_id == creator.id, Payment.payer_id == User.id)
                    .where(col(Payment.state).in_([s.value for s in PAID]))
                    .order_by(col(Payment.created_at))
                )
            ).all()
        by_day: dict[str, int] = defaultdict(int)
        by_payer: dict[str, int] = defaultdict(int)
        total = 0
        for payment, payer in rows:
            by_day[payment.created_at.date().isoformat()] += payment.amount
            by_payer["anonymous" if payment.anonymous else payer.username] += payment.amount
            total += payment.amount
        return {
            "currency": self.settings.currency,
            "total": total,
            "by_day": [{"day": d, "amount": a} for d, a in sorted(by_day.items())],
            "by_payer": [
                {"payer": p, "amount": a}
                for p, a in sorted(by_payer.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
        }

    async def receipts(self, payer: User) -> list[dict[str, Any]]:
        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(Payment, User)
                    .where(Payment.payer_id == payer.id, Payment.creator_id == User.id)
                    .where(col(Payment.state) != State.CREATED.value)
                    .order_by(col(Payment.created_at).desc())
                )
            ).all()
        return [payment_json(p, creator=u.username) for p, u in rows]

    async def admin_summary(self) -> dict[str, Any]:
        async with self.db.session() as session:
            totals = await ledger.totals(session)
            problems = await ledger.unbalanced(session)
            txns, entries = await ledger.count(session)
        return {
            "totals": totals,
            "fee_variance": {c: t[ledger.FEE_VARIANCE] for c, t in totals.items()},
            "transactions": txns,
            "entries": entries,
            "balanced": not problems,
        }


def _id(value: Any) -> str:
    return value["id"] if isinstance(value, dict) else str(value or "")


def payment_json(payment: Payment, **extra: Any) -> dict[str, Any]:
    return {
        "id": payment.id,
        "state": payment.state,
        "amount": payment.amount,
        "fee": payment.fee_estimate,
        "total": payment.gross,
        "fee_actual": payment.fee_actual,
        "currency": payment.currency,
        "exponent": exponent(payment.currency),
        "anonymous": payment.anonymous,
        "payment_intent_id": payment.payment_intent_id,
        "failure_message": payment.failure_message,
        "created_at": payment.created_at.isoformat(),
        **extra,
    }
