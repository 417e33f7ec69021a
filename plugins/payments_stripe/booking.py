"""From what Stripe says about a payment now to ledger facts and a state.

An event is only a trigger: :func:`fetch` reads the payment's current state from the
API (the PaymentIntent with its charge, balance transaction and transfer; refunds;
disputes; transfer reversals) and :func:`book` books every fact in it that is not yet
in the ledger, then moves the payment's state forward. Facts are keyed by their
Stripe ids, so booking the same or an older snapshot again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import ledger
from .gateway import StripeGateway
from .ledger import CREATORS, FEE_VARIANCE, PAYERS, PLATFORM, STRIPE_FEES, Line, Ref
from .models import Payment, utcnow
from .states import State, furthest


@dataclass
class Snapshot:
    """A payment as Stripe describes it right now."""

    intent: dict[str, Any]
    refunds: list[dict[str, Any]] = field(default_factory=list)
    disputes: list[dict[str, Any]] = field(default_factory=list)
    reversals: list[dict[str, Any]] = field(default_factory=list)

    @property
    def charge(self) -> dict[str, Any] | None:
        charge = self.intent.get("latest_charge")
        return charge if isinstance(charge, dict) else None

    @property
    def transfer(self) -> dict[str, Any] | None:
        transfer = (self.charge or {}).get("transfer")
        return transfer if isinstance(transfer, dict) else None


async def fetch(gateway: StripeGateway, intent_id: str) -> Snapshot:
    snapshot = Snapshot(intent=await gateway.payment_intent(intent_id))
    charge, transfer = snapshot.charge, snapshot.transfer
    if charge is None:
        return snapshot
    if charge.get("amount_refunded"):
        snapshot.refunds = await gateway.refunds(charge["id"])
    if charge.get("disputed"):
        snapshot.disputes = await gateway.disputes(charge["id"])
    if transfer is not None and transfer.get("amount_reversed"):
        snapshot.reversals = await gateway.reversals(transfer["id"])
    return snapshot


def _when(unix: int | None) -> datetime:
    return datetime.fromtimestamp(unix, UTC) if unix else utcnow()


def _id(value: Any) -> str:
    return value["id"] if isinstance(value, dict) else str(value or "")


@dataclass
class Fact:
    key: str
    kind: str
    stripe_object_id: str
    lines: list[Line]
    refs: list[Ref]


def facts(payment: Payment, snapshot: Snapshot) -> list[Fact]:
    """Every ledger fact the snapshot shows, in the order they happened."""
    found: list[Fact] = []
    charge, transfer = snapshot.charge, snapshot.transfer
    if charge is None or charge.get("status") != "succeeded":
        return found
    bt = charge.get("balance_transaction")
    if not isinstance(bt, dict):
        return found  # not settled into the balance yet; a later event books it
    cur = charge["currency"]
    gross, fee = int(charge["amount"]), int(bt["fee"])
    amount = int(transfer["amount"]) if transfer else payment.amount
    refs = [Ref(bt["id"], "charge", int(bt["amount"]), fee, cur, _when(bt.get("created")))]
    if transfer and transfer.get("balance_transaction"):
        refs.append(
            Ref(
                _id(transfer["balance_transaction"]),
                "transfer",
                -amount,
                0,
                cur,
                _when(transfer.get("created")),
            )
        )
    found.append(
        Fact(
            key=f"charge:{charge['id']}",
            kind="charge",
            stripe_object_id=charge["id"],
            lines=[
                Line(PAYERS, -gross, cur, payment.payer_id),
                Line(CREATORS, amount, cur, payment.creator_id),
                Line(STRIPE_FEES, fee, cur),
                Line(FEE_VARIANCE, gross - amount - fee, cur),
            ],
            refs=refs,
        )
    )
    reversals: dict[str, dict[str, Any]] = {r["id"]: r for r in snapshot.reversals}
    for refund in sorted(snapshot.refunds, key=lambda r: r.get("created") or 0):
        if refund.get("status") != "succeeded":
            continue
        value = int(refund["amount"])
        found.append(
            Fact(
                key=f"refund:{refund['id']}",
                kind="refund",
                stripe_object_id=refund["id"],
                lines=[Line(PAYERS, value, cur, payment.payer_id), Line(PLATFORM, -value, cur)],
                refs=[
                    Ref(
                        _id(refund.get("balance_transaction")),
                        "refund",
                        -value,
                        0,
                        cur,
                        _when(refund.get("created")),
                    )
                ]
                if refund.get("balance_transaction")
                else [],
            )
        )
        if isinstance(refund.get("transfer_reversal"), dict):
            reversals.setdefault(refund["transfer_reversal"]["id"], refund["transfer_reversal"])
    for reversal in sorted(reversals.values(), key=lambda r: r.get("created") or 0):
        value = int(reversal["amount"])
        found.append(
            Fact(
                key=f"reversal:{reversal['id']}",
                kind="transfer_reversal",
                stripe_object_id=reversal["id"],
                lines=[Line(CREATORS, -value, cur, payment.creator_id), Line(PLATFORM, value, cur)],
                refs=[
                    Ref(
                        _id(reversal.get("balance_transaction")),
                        "transfer_refund",
                        value,
                        0,
                        cur,
                        _when(reversal.get("created")),
                    )
                ]
                if reversal.get("balance_transaction")
                else [],
            )
        )
    for dispute in snapshot.disputes:
        for move in dispute.get("balance_transactions") or []:
            value, move_fee = int(move["amount"]), int(move["fee"])
            found.append(
                Fact(
                    key=f"dispute:{move['id']}",
                    kind="dispute",
                    stripe_object_id=dispute["id"],
                    lines=[
                        Line(PAYERS, -value, cur, payment.payer_id),
                        Line(STRIPE_FEES, move_fee, cur),
                        Line(PLATFORM, value - move_fee, cur),
                    ],
                    refs=[
                        Ref(
                            move["id"],
                            "adjustment",
                            value,
                            move_fee,
                            cur,
                            _when(move.get("created")),
                        )
                    ],
                )
            )
    return found


def observed_states(snapshot: Snapshot) -> list[str]:
    """The states the snapshot shows the payment has reached."""
    seen: list[str] = []
    status = snapshot.intent.get("status")
    if status == "processing":
        seen.append(State.PROCESSING)
    elif status == "succeeded":
        seen.append(State.SUCCEEDED)
    elif status in ("requires_payment_method", "canceled") and (
        snapshot.intent.get("last_payment_error") or status == "canceled"
    ):
        seen.append(State.FAILED)
    charge = snapshot.charge
    if charge and charge.get("amount_refunded"):
        full = int(charge["amount_refunded"]) >= int(charge["amount"])
        seen.append(State.REFUNDED if full else State.PARTIALLY_REFUNDED)
    for dispute in snapshot.disputes:
        outcome = dispute.get("status")
        seen.append(
            State.DISPUTE_WON
            if outcome == "won"
            else State.DISPUTE_LOST
            if outcome == "lost"
            else State.DISPUTED
        )
    return seen


@dataclass
class Booked:
    txns: int
    before: str
    after: str


async def book(session: Any, payment: Payment, snapshot: Snapshot, *, event_id: str) -> Booked:
    """Book SNAPSHOT's new facts and move PAYMENT forward, in SESSION's transaction
    (the caller holds the payment's row lock and commits)."""
    new = 0
    for fact in facts(payment, snapshot):
        txn = await ledger.post(
            session,
            key=fact.key,
            kind=fact.kind,
            stripe_object_id=fact.stripe_object_id,
            lines=fact.lines,
            payment_id=payment.id,
            event_id=event_id,
            refs=fact.refs,
        )
        new += txn is not None
    before = payment.state
    payment.state = furthest(payment.state, observed_states(snapshot))
    charge, transfer = snapshot.charge, snapshot.transfer
    if charge is not None:
        payment.charge_id = charge["id"]
        bt = charge.get("balance_transaction")
        if isinstance(bt, dict):
            payment.fee_actual = int(bt["fee"])
    if transfer is not None:
        payment.transfer_id = transfer["id"]
    error = snapshot.intent.get("last_payment_error")
    if isinstance(error, dict) and payment.state == State.FAILED:
        payment.failure_message = str(error.get("message") or "the card was declined")[:500]
    payment.updated_at = utcnow()
    session.add(payment)
    return Booked(txns=new, before=before, after=payment.state)


def lost_dispute(snapshot: Snapshot) -> dict[str, Any] | None:
    for dispute in snapshot.disputes:
        if dispute.get("status") == "lost":
            return dispute
    return None


def unreversed(snapshot: Snapshot) -> int:
    """What of the creator's transfer has not been reversed yet."""
    transfer = snapshot.transfer
    if transfer is None:
        return 0
    return int(transfer["amount"]) - int(transfer.get("amount_reversed") or 0)
