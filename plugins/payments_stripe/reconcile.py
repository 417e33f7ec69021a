"""``salon payments reconcile``: the ledger against Stripe's balance transactions.

Every balance transaction the ledger accounts for is stored with the amount and fee
the ledger expects (:class:`~.models.BalanceRef`). For a date range, each of Stripe's
balance transactions must have a matching reference and each reference a matching
balance transaction; anything else is a mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from .models import BalanceRef


@dataclass(frozen=True)
class Mismatch:
    balance_txn_id: str
    problem: str

    def __str__(self) -> str:
        return f"{self.balance_txn_id}: {self.problem}"


def compare(stripe_txns: list[dict[str, Any]], refs: list[BalanceRef]) -> list[Mismatch]:
    """What differs between Stripe's balance transactions and the ledger's references."""
    ours = {r.balance_txn_id: r for r in refs}
    theirs = {t["id"]: t for t in stripe_txns}
    problems: list[Mismatch] = []
    for txn_id, txn in sorted(theirs.items()):
        ref = ours.get(txn_id)
        if ref is None:
            problems.append(
                Mismatch(
                    txn_id,
                    f"at Stripe ({txn.get('type')} {txn['amount']} {txn['currency']}) "
                    "but not in the ledger",
                )
            )
            continue
        if (int(txn["amount"]), int(txn["fee"]), txn["currency"]) != (
            ref.amount,
            ref.fee,
            ref.currency,
        ):
            problems.append(
                Mismatch(
                    txn_id,
                    f"Stripe says amount {txn['amount']} fee {txn['fee']} {txn['currency']}, "
                    f"the ledger {ref.amount} fee {ref.fee} {ref.currency}",
                )
            )
    for txn_id, ref in sorted(ours.items()):
        if txn_id not in theirs:
            problems.append(
                Mismatch(
                    txn_id,
                    f"in the ledger ({ref.type} {ref.amount} {ref.currency}) but not at Stripe",
                )
            )
    return problems


def ledger_refs(session: Session, start: datetime, end: datetime) -> list[BalanceRef]:
    rows = session.exec(
        select(BalanceRef).where(col(BalanceRef.created) >= start, col(BalanceRef.created) < end)
    )
    return list(rows.all())


def day_start(text: str) -> datetime:
    """A YYYY-MM-DD date (or ISO time) as an aware UTC datetime."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
