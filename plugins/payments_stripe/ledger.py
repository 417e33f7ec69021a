"""The double-entry, append-only ledger.

Each Stripe-side fact (a charge, a refund, a transfer reversal, a dispute's balance
movement) becomes one :class:`LedgerTxn` whose unique ``key`` names the fact, so it is
booked at most once, with lines that sum to zero per currency. A line's amount is
positive when money went to the account and negative when it came from it:

==================  =============================================================
account             meaning of its balance
==================  =============================================================
``payers``          minus what payers paid, net of refunds and disputes
``creators``        what creators received, net of reversals
``stripe_fees``     the processing and dispute fees Stripe kept
``fee_variance``    estimated fee minus real fee: the platform's rounding error
``platform``        the instance's own money moved by refunds, reversals, disputes
==================  =============================================================

Entries are never updated or deleted (the database refuses it); a correction is a
reversing transaction (:func:`reverse`).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .models import BalanceRef, LedgerEntry, LedgerTxn

PAYERS = "payers"
CREATORS = "creators"
STRIPE_FEES = "stripe_fees"
FEE_VARIANCE = "fee_variance"
PLATFORM = "platform"
ACCOUNTS = (PAYERS, CREATORS, STRIPE_FEES, FEE_VARIANCE, PLATFORM)


class UnbalancedError(ValueError):
    """A set of lines that does not sum to zero: a bug, never booked."""


@dataclass(frozen=True)
class Line:
    account: str
    amount: int
    currency: str
    user_id: int | None = None


@dataclass(frozen=True)
class Ref:
    """A Stripe balance transaction this fact accounts for (for reconciliation)."""

    balance_txn_id: str
    type: str
    amount: int
    fee: int
    currency: str
    created: datetime


def check_balanced(lines: list[Line]) -> None:
    sums: dict[str, int] = defaultdict(int)
    for line in lines:
        if line.account not in ACCOUNTS:
            raise UnbalancedError(f"unknown account {line.account!r}")
        sums[line.currency] += line.amount
    bad = {c: s for c, s in sums.items() if s != 0}
    if bad:
        raise UnbalancedError(f"lines do not balance: {bad}")


async def booked(session: AsyncSession, keys: list[str]) -> set[str]:
    """Which of KEYS are already booked."""
    if not keys:
        return set()
    rows = await session.exec(select(LedgerTxn.key).where(col(LedgerTxn.key).in_(keys)))
    return set(rows.all())


async def post(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    stripe_object_id: str,
    lines: list[Line],
    payment_id: int | None = None,
    event_id: str = "",
    refs: list[Ref] = (),  # type: ignore[assignment]
    reverses_id: int | None = None,
) -> LedgerTxn | None:
    """Book one fact, unless KEY is booked already (then None). Raises UnbalancedError."""
    check_balanced(lines)
    if await booked(session, [key]):
        return None
    txn = LedgerTxn(
        key=key,
        kind=kind,
        payment_id=payment_id,
        stripe_object_id=stripe_object_id,
        event_id=event_id,
        reverses_id=reverses_id,
    )
    session.add(txn)
    await session.flush()
    for line in lines:
        if line.amount == 0:
            continue
        session.add(
            LedgerEntry(
                txn_id=txn.id,  # type: ignore[arg-type]
                account=line.account,
                user_id=line.user_id,
                amount=line.amount,
                currency=line.currency,
                payment_id=payment_id,
            )
        )
    for ref in refs:
        session.add(
            BalanceRef(
                balance_txn_id=ref.balance_txn_id,
                txn_id=txn.id,  # type: ignore[arg-type]
                type=ref.type,
                amount=ref.amount,
                fee=ref.fee,
                currency=ref.currency,
                created=ref.created,
            )
        )
    await session.flush()
    return txn


async def reverse(session: AsyncSession, txn_id: int, *, reason: str) -> LedgerTxn | None:
    """Correct a booked transaction with one that negates each of its lines."""
    original = await session.get(LedgerTxn, txn_id)
    if original is None:
        raise LookupError(f"no ledger transaction {txn_id}")
    entries = (await session.exec(select(LedgerEntry).where(LedgerEntry.txn_id == txn_id))).all()
    return await post(
        session,
        key=f"reversal-of:{txn_id}",
        kind="correction",
        stripe_object_id=original.stripe_object_id,
        lines=[Line(e.account, -e.amount, e.currency, e.user_id) for e in entries],
        payment_id=original.payment_id,
        event_id=reason,
        reverses_id=txn_id,
    )


async def unbalanced(session: AsyncSession) -> list[tuple[int, str, int]]:
    """(txn id, currency, sum) of every transaction whose lines do not sum to zero."""
    rows = await session.exec(
        select(LedgerEntry.txn_id, LedgerEntry.currency, func.sum(LedgerEntry.amount))
        .group_by(LedgerEntry.txn_id, LedgerEntry.currency)
        .having(func.sum(LedgerEntry.amount) != 0)
    )
    return [(t, c, int(s)) for t, c, s in rows.all()]


async def totals(session: AsyncSession, payment_id: int | None = None) -> dict[str, dict[str, int]]:
    """Balance of each account, by currency (optionally for one payment)."""
    query = select(LedgerEntry.currency, LedgerEntry.account, func.sum(LedgerEntry.amount))
    if payment_id is not None:
        query = query.where(LedgerEntry.payment_id == payment_id)
    rows = await session.exec(query.group_by(LedgerEntry.currency, LedgerEntry.account))
    out: dict[str, dict[str, int]] = {}
    for currency, account, total in rows.all():
        out.setdefault(currency, dict.fromkeys(ACCOUNTS, 0))[account] = int(total)
    return out


async def count(session: AsyncSession, payment_id: int | None = None) -> tuple[int, int]:
    """(transactions, entries), optionally for one payment."""
    txns = select(func.count()).select_from(LedgerTxn)
    entries = select(func.count()).select_from(LedgerEntry)
    if payment_id is not None:
        txns = txns.where(LedgerTxn.payment_id == payment_id)
        entries = entries.where(LedgerEntry.payment_id == payment_id)
    return (await session.exec(txns)).one(), (await session.exec(entries)).one()


CSV_COLUMNS = [
    "entry_id",
    "txn_id",
    "key",
    "kind",
    "stripe_object_id",
    "event_id",
    "payment_id",
    "account",
    "user_id",
    "amount",
    "currency",
    "created_at",
]


async def export_csv(session: AsyncSession) -> str:
    rows = await session.exec(
        select(LedgerEntry, LedgerTxn)
        .where(LedgerEntry.txn_id == LedgerTxn.id)
        .order_by(LedgerEntry.id)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for entry, txn in rows.all():
        writer.writerow(
            [
                entry.id,
                txn.id,
                txn.key,
                txn.kind,
                txn.stripe_object_id,
                txn.event_id,
                entry.payment_id or "",
                entry.account,
                entry.user_id or "",
                entry.amount,
                entry.currency,
                txn.created_at.isoformat(),
            ]
        )
    return buffer.getvalue()
