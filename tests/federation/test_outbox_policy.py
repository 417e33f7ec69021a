"""The delivery queue's policy, as plain functions: which answers are retried, the
backoff, the circuit breaker and the unavailable mark."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from salon.federation.models import FederationHost
from salon.federation.outbox import backoff, outcome, record_failure, record_success


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, "delivered"),
        (202, "delivered"),
        (400, "failed"),
        (403, "failed"),
        (404, "failed"),
        (410, "failed"),
        (401, "retry"),
        (408, "retry"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
        (None, "retry"),  # no answer: refused connection, timeout
    ],
)
def test_which_answers_are_retried(status: int | None, expected: str) -> None:
    assert outcome(status) == expected


def test_backoff_starts_at_a_minute_and_doubles_with_jitter() -> None:
    assert [backoff(n, 60, 0) for n in range(1, 6)] == [60, 120, 240, 480, 960]
    assert backoff(30, 60, 0) == 12 * 3600  # capped
    rand = random.Random(7)
    spread = [backoff(1, 60, 0.2, rand=rand) for _ in range(200)]
    assert 48 <= min(spread) < 55 and 65 < max(spread) <= 72
    # About two days of retries: the default schedule reaches past 48 hours.
    total, n = 0.0, 0
    while total < 48 * 3600:
        n += 1
        total += backoff(n, 60, 0)
    assert 10 <= n <= 16


def host() -> FederationHost:
    return FederationHost(host="remote.example", consecutive_failures=0, failure_days="")


def test_the_circuit_opens_after_consecutive_failures_and_closes_on_success() -> None:
    h = host()
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    for _ in range(4):
        record_failure(h, now, breaker=5, breaker_seconds=300, unavailable_days=3)
    assert h.circuit_open_until is None
    record_failure(h, now, breaker=5, breaker_seconds=300, unavailable_days=3)
    assert h.circuit_open_until == now + timedelta(seconds=300)
    assert not h.unavailable
    record_success(h, now)
    assert h.circuit_open_until is None and h.consecutive_failures == 0


def test_failures_on_several_distinct_days_mark_a_host_unavailable_until_a_success() -> None:
    h = host()
    day = datetime(2026, 1, 1, 12, tzinfo=UTC)
    for n in range(2):
        for _ in range(3):  # many failures on one day count as one day
            record_failure(
                h, day + timedelta(days=n), breaker=100, breaker_seconds=1, unavailable_days=3
            )
    assert not h.unavailable
    third = day + timedelta(days=2)
    record_failure(h, third, breaker=100, breaker_seconds=1, unavailable_days=3)
    assert h.unavailable
    assert h.circuit_open_until == third + timedelta(days=1)  # tried once a day meanwhile
    record_success(h, third + timedelta(days=1))
    assert not h.unavailable and h.failure_days == ""
