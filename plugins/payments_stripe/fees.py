"""Fee math: what the payer is charged so that the creator receives exactly X.

All amounts are integers in the currency's minor unit (cents for usd, yen for jpy,
which has no minor unit). Stripe's fee on a charge of ``gross`` is estimated as
``round(gross * bp / 10000) + fixed``; ``rounding`` says how the fraction is rounded.
The payer pays the smallest ``gross`` whose fee leaves at least X (issue 5):

    gross = ceil((X + fixed) * 10000 / (10000 - bp))

which is exactly the smallest such gross when the fee rounds up; when it rounds
half-up the fee can be one unit lower, so the smallest gross may be one below that
bound, and :func:`gross_up` steps down to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Rounding = Literal["half_up", "up"]

# Stripe's zero-decimal currencies: amounts are given in whole units.
ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)


def exponent(currency: str) -> int:
    """How many decimal places the currency's minor unit has (2 for usd, 0 for jpy)."""
    return 0 if currency.lower() in ZERO_DECIMAL else 2


@dataclass(frozen=True)
class FeeRule:
    """Stripe's processing fee for one currency: basis points of the charge plus a fixed part."""

    bp: int
    fixed: int
    rounding: Rounding = "half_up"

    def __post_init__(self) -> None:
        assert 0 <= self.bp < 10000, "bp must be in [0, 10000)"
        assert self.fixed >= 0, "fixed must not be negative"


def _divide(numerator: int, denominator: int, rounding: Rounding) -> int:
    """numerator / denominator for non-negative integers, rounded as asked, exactly."""
    if rounding == "up":
        return -(-numerator // denominator)
    return (2 * numerator + denominator) // (2 * denominator)


def fee(gross: int, rule: FeeRule) -> int:
    """The estimated Stripe fee on a charge of GROSS."""
    return _divide(gross * rule.bp, 10000, rule.rounding) + rule.fixed


def covers(gross: int, amount: int, rule: FeeRule) -> bool:
    """Whether a charge of GROSS leaves at least AMOUNT after the fee."""
    return gross - fee(gross, rule) >= amount


def gross_up(amount: int, rule: FeeRule) -> int:
    """The smallest charge that leaves AMOUNT after the estimated fee."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    # gross - fee(gross) never decreases as gross grows (the fee grows by at most 1 per
    # unit), so the smallest covering gross is found by stepping down from the bound.
    gross = -(-(amount + rule.fixed) * 10000 // (10000 - rule.bp))
    while gross > 0 and covers(gross - 1, amount, rule):
        gross -= 1
    return gross


@dataclass(frozen=True)
class Breakdown:
    """What the payer sees before paying."""

    amount: int  # to the creator
    fee: int  # the estimated processing fee, on top
    gross: int  # what the payer is charged
    currency: str

    def as_json(self) -> dict[str, int | str]:
        return {
            "amount": self.amount,
            "fee": self.fee,
            "total": self.gross,
            "currency": self.currency,
            "exponent": exponent(self.currency),
        }


def breakdown(amount: int, currency: str, rule: FeeRule) -> Breakdown:
    gross = gross_up(amount, rule)
    return Breakdown(amount=amount, fee=gross - amount, gross=gross, currency=currency.lower())


def format_money(amount: int, currency: str) -> str:
    """AMOUNT minor units as text, e.g. ``12.34 USD`` or ``500 JPY``."""
    places = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(amount), 10**places)
    text = f"{whole}.{part:0{places}d}" if places else str(whole)
    return f"{sign}{text} {currency.upper()}"
