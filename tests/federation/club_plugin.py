"""A small test plugin standing in for clubs on instance C: it publishes one
``Group`` actor through ``salon_federated_actor`` and records what federation hands
it through ``salon_activity_received``."""

from __future__ import annotations

from collections import Counter
from typing import Any

from salon.core.hookspecs import hookimpl

CLUB = "jazzclub"
received: list[dict[str, Any]] = []
by_id: Counter[str] = Counter()


@hookimpl
def salon_federated_actor(name: str) -> dict[str, Any] | None:
    if name != CLUB:
        return None
    return {
        "type": "Group",
        "preferredUsername": CLUB,
        "name": "Late Night Jazz",
        "summary": "A club for jazz talk",
        "url": "http://club.invalid/jazzclub",
    }


@hookimpl
def salon_activity_received(activity: dict[str, Any], sender: str) -> None:
    received.append(activity)
    by_id[activity["id"]] += 1
