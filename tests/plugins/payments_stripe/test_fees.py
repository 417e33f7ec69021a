"""The fee math: the smallest charge that leaves the creator's amount after Stripe's fee."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salon.plugins.payments_stripe.fees import (
    FeeRule,
    breakdown,
    covers,
    exponent,
    fee,
    format_money,
    gross_up,
)

# Stripe's minimum charge: 50 cents for usd, 50 yen for jpy.
MIN_CHARGE = {"usd": 50, "jpy": 50}
RULES = {
    "usd": FeeRule(bp=290, fixed=30),
    "jpy": FeeRule(bp=360, fixed=0),
}


@settings(max_examples=300, deadline=None)
@given(
    currency=st.sampled_from(sorted(RULES)),
    rounding=st.sampled_from(["half_up", "up"]),
    data=st.data(),
)
def test_gross_is_the_smallest_charge_that_covers_the_fee(
    currency: str, rounding: str, data: st.DataObject
) -> None:
    base = RULES[currency]
    rule = FeeRule(bp=base.bp, fixed=base.fixed, rounding=rounding)  # type: ignore[arg-type]
    amount = data.draw(st.integers(min_value=MIN_CHARGE[currency], max_value=1_000_000))
    gross = gross_up(amount, rule)
    assert gross - fee(gross, rule) >= amount
    assert gross - 1 - fee(gross - 1, rule) < amount
    if rounding == "up":
        # Exactly the formula when the fee rounds up.
        assert gross == -(-(amount + rule.fixed) * 10000 // (10000 - rule.bp))


@settings(max_examples=150, deadline=None)
@given(
    bp=st.integers(min_value=0, max_value=9999),
    fixed=st.integers(min_value=0, max_value=500),
    amount=st.integers(min_value=0, max_value=1_000_000),
    rounding=st.sampled_from(["half_up", "up"]),
)
def test_any_fee_rule(bp: int, fixed: int, amount: int, rounding: str) -> None:
    rule = FeeRule(bp=bp, fixed=fixed, rounding=rounding)  # type: ignore[arg-type]
    gross = gross_up(amount, rule)
    assert covers(gross, amount, rule)
    assert gross == 0 or not covers(gross - 1, amount, rule)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (1000, "usd", (1000, 61, 1061)),  # (1000 + 30) / 0.971 = 1060.76 -> 1061
        (100, "usd", (100, 34, 134)),
        (500, "jpy", (500, 19, 519)),  # yen have no minor unit: 3.6% of 519 = 18.7 -> 19
    ],
)
def test_worked_examples(amount: int, currency: str, expected: tuple[int, int, int]) -> None:
    b = breakdown(amount, currency, RULES[currency])
    assert (b.amount, b.fee, b.gross) == expected
    assert b.as_json()["exponent"] == exponent(currency)


def test_money_is_shown_in_the_currency_s_units() -> None:
    assert format_money(1061, "usd") == "10.61 USD"
    assert format_money(-5, "usd") == "-0.05 USD"
    assert format_money(519, "jpy") == "519 JPY"
    assert exponent("JPY") == 0 and exponent("eur") == 2
