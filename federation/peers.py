"""Peering (issue 9): this instance's instance actor follows another instance's, to
list all that instance's open rooms in its hallway.

Listing is the listed instance's choice: its instance actor accepts such a follow only
when its ``list_rooms_to_peers`` is on, and rejects it otherwise
(:func:`salon.federation.follows.received_follow`). The commands
``salon federation peer|unpeer|peers`` (federation/cli.py) work on the database, as
the other federation commands do; the running server's delivery workers send what
they queue, and its inbox records the answer here (:func:`answered`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

from .follows import ACCEPTED
from .models import FederationPeer
from .service import Federation, host_of

logger = logging.getLogger(__name__)

PENDING, REFUSED = "pending", "refused"


def instance_actor_url(host_or_url: str) -> str:
    """The instance actor of HOST (``example.com``, ``127.0.0.1:8001``, or a base URL):
    Salon serves it at ``/actor``."""
    text = host_or_url.strip().rstrip("/")
    if text.startswith(("http://", "https://")):
        return f"{text}/actor"
    scheme = "http" if text.split(":")[0] in ("127.0.0.1", "localhost") else "https"
    return f"{scheme}://{text}/actor"


async def answered(fed: Federation, activity: dict[str, Any], sender: str) -> None:
    """An ``Accept`` or ``Reject`` from another instance's actor: if it answers this
    instance's peering, record it."""
    async with fed.db.session() as session:
        peer = (
            await session.exec(
                select(FederationPeer).where(
                    FederationPeer.actor == sender, FederationPeer.host == host_of(sender)
                )
            )
        ).first()
        if peer is None:
            return
        inner = activity.get("object")
        inner_id = inner.get("id") if isinstance(inner, dict) else inner
        if peer.follow_id and inner_id not in (None, peer.follow_id):
            return  # an answer to an older request
        accepted = activity.get("type") == "Accept"
        peer.state = ACCEPTED if accepted else REFUSED
        peer.answered_at = datetime.now(UTC)
        session.add(peer)
        await session.commit()
    if accepted:
        logger.info("peering with %s accepted: its open rooms will be listed here", peer.host)
    else:
        logger.warning(
            "peering with %s refused: it does not list its rooms to peers "
            "(list_rooms_to_peers is off there)",
            peer.host,
        )
