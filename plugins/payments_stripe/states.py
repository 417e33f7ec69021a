"""A payment's states. They only move forward, so an event that arrives late, twice
or out of order cannot take a payment back."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    CREATED = "created"
    PROCESSING = "processing"
    FAILED = "failed"
    SUCCEEDED = "succeeded"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    DISPUTED = "disputed"
    DISPUTE_WON = "dispute_won"
    DISPUTE_LOST = "dispute_lost"


# A failed card may be retried and then succeed; refunds and disputes follow success.
RANK = {
    State.CREATED: 0,
    State.PROCESSING: 1,
    State.FAILED: 2,
    State.SUCCEEDED: 3,
    State.PARTIALLY_REFUNDED: 4,
    State.REFUNDED: 5,
    State.DISPUTED: 6,
    State.DISPUTE_WON: 7,
    State.DISPUTE_LOST: 7,
}

PAID = frozenset(
    {
        State.SUCCEEDED,
        State.PARTIALLY_REFUNDED,
        State.REFUNDED,
        State.DISPUTED,
        State.DISPUTE_WON,
        State.DISPUTE_LOST,
    }
)


def forward(current: str, proposed: str) -> str:
    """The state after PROPOSED is observed in CURRENT: PROPOSED if it is further along."""
    cur, new = State(current), State(proposed)
    return new.value if RANK[new] > RANK[cur] else cur.value


def furthest(current: str, observed: list[str]) -> str:
    state = current
    for proposed in observed:
        state = forward(state, proposed)
    return state
