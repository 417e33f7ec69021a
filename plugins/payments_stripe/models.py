"""The plugin's tables (prefix ``payments_stripe_``), on their own SQLAlchemy registry.

They live in their own metadata so the core's models-match-migrations check is not
disturbed by them; :data:`METADATA` also holds a stub of the core's ``user`` table so
the foreign keys resolve.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, Integer, Table, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class PaymentsTable(SQLModel, registry=registry()):
    """Base of the plugin's tables."""


METADATA = PaymentsTable.metadata
# The core's user table, as far as the foreign keys below need it (not created here).
Table("user", METADATA, Column("id", Integer, primary_key=True))


class ConnectAccount(PaymentsTable, table=True):
    """A creator's Stripe Connect Express account and what Stripe last said about it."""

    __tablename__ = "payments_stripe_account"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", unique=True)
    stripe_account_id: str = Field(unique=True, max_length=255)
    charges_enabled: bool = False
    payouts_enabled: bool = False
    details_submitted: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    version: int = 0


class Payment(PaymentsTable, table=True):
    """One payment from a payer to a creator: X to the creator, the fee on top."""

    __tablename__ = "payments_stripe_payment"
    __table_args__ = (UniqueConstraint("payer_id", "request_id"),)

    id: int | None = Field(default=None, primary_key=True)
    payer_id: int = Field(foreign_key="user.id", index=True)
    creator_id: int = Field(foreign_key="user.id", index=True)
    room_id: int | None = None
    stripe_account_id: str = Field(max_length=255)
    currency: str = Field(max_length=3)
    amount: int  # X, to the creator
    gross: int  # charged to the payer
    fee_estimate: int  # gross - amount
    fee_actual: int | None = None
    state: str = Field(default="created", max_length=20, index=True)
    anonymous: bool = False
    idempotency_key: str = Field(unique=True, max_length=80)
    request_id: str | None = Field(default=None, max_length=80)
    payment_intent_id: str | None = Field(default=None, unique=True, max_length=255)
    charge_id: str | None = Field(default=None, index=True, max_length=255)
    transfer_id: str | None = Field(default=None, index=True, max_length=255)
    failure_message: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    version: int = 0


class WebhookEvent(PaymentsTable, table=True):
    """A verified Stripe event: stored once (unique id), applied at most once."""

    __tablename__ = "payments_stripe_event"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True, max_length=255)
    type: str = Field(max_length=100)
    object_id: str = Field(default="", max_length=255)
    received_at: datetime = Field(default_factory=utcnow)
    applied_at: datetime | None = None


class LedgerTxn(PaymentsTable, table=True):
    """A balanced set of entries recording one Stripe-side fact (``key`` is unique)."""

    __tablename__ = "payments_stripe_txn"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=255)
    kind: str = Field(max_length=30)
    payment_id: int | None = Field(default=None, foreign_key="payments_stripe_payment.id")
    stripe_object_id: str = Field(max_length=255)
    event_id: str = Field(default="", max_length=255)
    reverses_id: int | None = Field(default=None, foreign_key="payments_stripe_txn.id")
    created_at: datetime = Field(default_factory=utcnow, index=True)


class LedgerEntry(PaymentsTable, table=True):
    """One line of a ledger transaction: a signed amount (positive: money went to the
    account) in minor units; a transaction's lines sum to zero per currency."""

    __tablename__ = "payments_stripe_entry"

    id: int | None = Field(default=None, primary_key=True)
    txn_id: int = Field(foreign_key="payments_stripe_txn.id", index=True)
    account: str = Field(max_length=30, index=True)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    amount: int
    currency: str = Field(max_length=3)
    payment_id: int | None = Field(default=None, foreign_key="payments_stripe_payment.id")
    created_at: datetime = Field(default_factory=utcnow)


class BalanceRef(PaymentsTable, table=True):
    """A Stripe balance transaction the ledger accounts for, with what the ledger
    expects of it; ``salon payments reconcile`` compares these with Stripe's."""

    __tablename__ = "payments_stripe_balance_ref"

    id: int | None = Field(default=None, primary_key=True)
    balance_txn_id: str = Field(unique=True, max_length=255)
    txn_id: int = Field(foreign_key="payments_stripe_txn.id", index=True)
    type: str = Field(max_length=40)
    amount: int
    fee: int
    currency: str = Field(max_length=3)
    created: datetime = Field(index=True)
