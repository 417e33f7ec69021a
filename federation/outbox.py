"""Outgoing activities: a durable delivery queue in the database, delivered by
background workers.

Each (activity, inbox) pair is one row. Workers claim due rows with a lease (a row
whose worker died is claimed again when its lease runs out, so a crash loses nothing),
sign each request at send time, and:

- on 2xx mark it delivered;
- on a 4xx other than 401, 408 and 429 give up at once (the remote refuses it);
- otherwise retry with exponential backoff and jitter (``retry_base_seconds``, then
  doubling) until ``retry_for_seconds`` (two days) have passed.

Per host: a signature scheme (RFC 9421 first; draft-cavage when the host refuses it,
remembered), a circuit breaker (``circuit_breaker_failures`` failures in a row pause
the host for ``circuit_breaker_seconds``), and "unavailable" once failures happened on
``unavailable_after_days`` distinct days, until a delivery succeeds (meanwhile it is
tried at most once a day).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from . import signatures as sig
from .client import ACTIVITY_JSON
from .errors import FetchError
from .keys import aware
from .models import FederationDelivery, FederationHost
from .service import Federation, host_matches, host_of

logger = logging.getLogger(__name__)

PENDING, SENDING, DELIVERED, FAILED, DROPPED = (
    "pending",
    "sending",
    "delivered",
    "failed",
    "dropped",
)
RETRYABLE_4XX = {401, 408, 429}


def backoff(
    attempt: int,
    base: float,
    jitter: float,
    cap: float = 12 * 3600.0,
    rand: random.Random | None = None,
) -> float:
    """Seconds to wait after the ATTEMPT-th failure: BASE, then doubling, capped at CAP
    (12 hours), spread by +-JITTER."""
    delay = min(base * 2 ** max(attempt - 1, 0), cap)
    spread = (rand or random).uniform(1 - jitter, 1 + jitter)
    return delay * spread


def outcome(status: int | None) -> str:
    """What a delivery answered STATUS (None: no answer) means: delivered, failed
    (do not retry) or retry."""
    if status is not None and 200 <= status < 300:
        return DELIVERED
    if status is not None and 400 <= status < 500 and status not in RETRYABLE_4XX:
        return FAILED
    return "retry"


def record_failure(
    host: FederationHost, now: datetime, breaker: int, breaker_seconds: float, unavailable_days: int
) -> None:
    """Count one failed delivery to HOST: consecutive failures open the circuit; failures
    on enough distinct days mark it unavailable."""
    host.consecutive_failures += 1
    days = set(filter(None, host.failure_days.split(",")))
    days.add(now.date().isoformat())
    host.failure_days = ",".join(sorted(days)[-30:])
    if len(days) >= unavailable_days:
        host.unavailable = True
    if host.unavailable:
        host.circuit_open_until = now + timedelta(days=1)
    elif host.consecutive_failures >= breaker:
        host.circuit_open_until = now + timedelta(seconds=breaker_seconds)


def record_success(host: FederationHost, now: datetime) -> bool:
    """Reset HOST after a delivery succeeded; whether anything but the time changed."""
    changed = bool(host.consecutive_failures or host.failure_days or host.unavailable)
    changed = changed or host.circuit_open_until is not None
    host.consecutive_failures = 0
    host.failure_days = ""
    host.unavailable = False
    host.circuit_open_until = None
    host.last_success_at = now
    return changed


class Outbox:
    """The delivery queue of one instance and its workers."""

    def __init__(self, fed: Federation):
        self.fed = fed
        self.settings = fed.settings
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # -- enqueueing -----------------------------------------------------------------

    async def enqueue(self, activity: dict[str, Any], sender: str, inboxes: Iterable[str]) -> int:
        """Queue ACTIVITY, signed by SENDER, for each inbox (once each; blocked hosts
        are skipped). Returns how many rows were queued."""
        body = json.dumps(activity, separators=(",", ":"))
        queued = 0
        for inbox in dict.fromkeys(i for i in inboxes if i):
            host = host_of(inbox)
            if not await self.fed.allowed(host):
                logger.info(
                    "not delivering %s to %s: the instance is blocked", activity["id"], host
                )
                continue
            async with self.fed.db.session() as session:
                session.add(
                    FederationDelivery(
                        activity_id=activity["id"], sender=sender, inbox=inbox, host=host, body=body
                    )
                )
                try:
                    await session.commit()
                    queued += 1
                except IntegrityError:
                    await session.rollback()  # already queued: idempotent
        if queued:
            self._wake.set()
        return queued

    async def to_followers(self, activity: dict[str, Any], sender: str) -> int:
        from .follows import follower_inboxes

        return await self.enqueue(activity, sender, await follower_inboxes(self.fed, sender))

    async def drop_host(self, domain: str) -> int:
        """Drop queued deliveries to DOMAIN (an instance block)."""
        async with self.fed.db.session() as session:
            rows = (
                await session.exec(
                    select(FederationDelivery).where(
                        col(FederationDelivery.state).in_([PENDING, SENDING])
                    )
                )
            ).all()
            dropped = 0
            for row in rows:
                if host_matches(row.host, domain):
                    row.state, row.last_error = DROPPED, "instance blocked"
                    session.add(row)
                    dropped += 1
            await session.commit()
        if dropped:
            logger.info("dropped %d queued deliveries to %s", dropped, domain)
        return dropped

    # -- hosts ------------------------------------------------------------------------

    async def _host(self, host: str) -> FederationHost:
        async with self.fed.db.session() as session:
            row = (
                await session.exec(select(FederationHost).where(FederationHost.host == host))
            ).first()
            if row is None:
                row = FederationHost(host=host)
                session.add(row)
                try:
                    await session.commit()
                except IntegrityError:
                    await session.rollback()
                row = (
                    await session.exec(select(FederationHost).where(FederationHost.host == host))
                ).one()
            return row

    async def scheme_for(self, host: str) -> str:
        return (await self._host(host)).signature_scheme

    async def _save_host(self, row: FederationHost) -> None:
        async with self.fed.db.session() as session:
            session.add(row)
            await session.commit()

    # -- workers ----------------------------------------------------------------------

    def start(self) -> None:
        """Start one dispatcher, which claims due rows in batches, and ``workers``
        senders, which deliver them."""
        self._stopping = False
        self._queue: asyncio.Queue[FederationDelivery] = asyncio.Queue()
        self._tasks.append(asyncio.create_task(self._dispatch(), name="federation-dispatch"))
        for n in range(self.settings.workers):
            self._tasks.append(asyncio.create_task(self._send(), name=f"federation-send-{n}"))

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _dispatch(self) -> None:
        while not self._stopping:
            self._wake.clear()
            wait = self.settings.poll_seconds
            room = self.settings.workers * 2 - self._queue.qsize()
            if room > 0:
                try:
                    claimed = await self.claim(room)
                    for delivery in claimed:
                        self._queue.put_nowait(delivery)
                    if len(claimed) == room:
                        continue  # more may be due; the senders wake us when they have room
                    wait = await self._until_next_due(wait)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("claiming deliveries failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def _until_next_due(self, cap: float) -> float:
        """Seconds until the earliest pending delivery is due (at most CAP)."""
        async with self.fed.db.session() as session:
            due = (
                await session.exec(
                    select(FederationDelivery.next_attempt_at)
                    .where(FederationDelivery.state == PENDING)
                    .order_by(FederationDelivery.next_attempt_at)
                    .limit(1)
                )
            ).first()
        if due is None:
            return cap
        return max(0.0, min(cap, (aware(due) - datetime.now(UTC)).total_seconds()))  # type: ignore[operator]

    async def _send(self) -> None:
        while True:
            delivery = await self._queue.get()
            try:
                await self.deliver(delivery)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("delivering %s to %s failed", delivery.activity_id, delivery.inbox)
            finally:
                self._queue.task_done()
                if self._queue.qsize() < self.settings.workers:
                    self._wake.set()  # the dispatcher may claim more

    async def claim(self, limit: int = 1) -> list[FederationDelivery]:
        """Take up to LIMIT due deliveries, each with a lease (one UPDATE: a row is
        claimed by one dispatcher even with several processes on one database)."""
        now = datetime.now(UTC)
        lease = now + timedelta(seconds=self.settings.request_timeout_seconds * 3 + 5)
        claimable = or_(
            FederationDelivery.state == PENDING,
            (FederationDelivery.state == SENDING) & (col(FederationDelivery.lease_until) < now),
        )
        due = (
            select(FederationDelivery.id)
            .where(claimable, FederationDelivery.next_attempt_at <= now)
            .order_by(FederationDelivery.next_attempt_at)
            .limit(limit)
        )
        async with self.fed.db.session() as session:
            result = await session.exec(  # type: ignore[call-overload]
                update(FederationDelivery)
                .where(col(FederationDelivery.id).in_(due.scalar_subquery()), claimable)
                .values(state=SENDING, lease_until=lease)
                .returning(FederationDelivery.id)
            )
            ids = [row[0] for row in result.all()]
            await session.commit()
            if not ids:
                return []
            rows = (
                await session.exec(
                    select(FederationDelivery)
                    .where(col(FederationDelivery.id).in_(ids))
                    .order_by(FederationDelivery.next_attempt_at)
                )
            ).all()
        return list(rows)

    async def deliver(self, delivery: FederationDelivery) -> str:
        """Attempt one claimed delivery; returns its new state."""
        now = datetime.now(UTC)
        host = await self._host(delivery.host)
        if not await self.fed.allowed(delivery.host):
            return await self._finish(delivery, DROPPED, None, "instance blocked")
        open_until = aware(host.circuit_open_until)
        if open_until is not None and open_until > now:
            return await self._postpone(delivery, open_until)
        status, error = await self._post(delivery, host.signature_scheme)
        scheme_changed = False
        if status in (400, 401) and host.signature_scheme == sig.RFC9421:
            # The host may not take RFC 9421: try draft-cavage, and remember it if it works.
            status2, error2 = await self._post(delivery, sig.CAVAGE)
            if outcome(status2) == DELIVERED:
                host.signature_scheme, scheme_changed = sig.CAVAGE, True
                logger.info("%s takes draft-cavage signatures; using them from now on", host.host)
            status, error = status2, error2
        result = outcome(status)
        now = datetime.now(UTC)
        if result == DELIVERED:
            # Saved only when something changed: one write less per delivery.
            if record_success(host, now) or scheme_changed:
                await self._save_host(host)
            return await self._finish(delivery, DELIVERED, status, "")
        if result == FAILED:
            if scheme_changed:
                await self._save_host(host)
            return await self._finish(delivery, FAILED, status, error or f"refused with {status}")
        record_failure(
            host,
            now,
            self.settings.circuit_breaker_failures,
            self.settings.circuit_breaker_seconds,
            self.settings.unavailable_after_days,
        )
        await self._save_host(host)
        age = (now - aware(delivery.created_at)).total_seconds()  # type: ignore[operator]
        if age > self.settings.retry_for_seconds:
            return await self._finish(
                delivery, FAILED, status, f"gave up after {delivery.attempts + 1} attempts: {error}"
            )
        delay = backoff(
            delivery.attempts + 1,
            self.settings.retry_base_seconds,
            self.settings.retry_jitter,
            self.settings.retry_max_delay_seconds,
        )
        async with self.fed.db.session() as session:
            row = await session.get(FederationDelivery, delivery.id)
            if row is None or row.state != SENDING:  # dropped meanwhile (an instance block)
                return row.state if row else DROPPED
            row.attempts += 1  # type: ignore[union-attr]
            row.state, row.lease_until = PENDING, None  # type: ignore[union-attr]
            row.last_status, row.last_error = status, (error or "")[:500]  # type: ignore[union-attr]
            row.next_attempt_at = now + timedelta(seconds=delay)  # type: ignore[union-attr]
            session.add(row)
            await session.commit()
        logger.info(
            "delivery of %s to %s failed (%s); retrying in %.1fs",
            delivery.activity_id,
            delivery.inbox,
            error or status,
            delay,
        )
        return PENDING

    async def _post(self, delivery: FederationDelivery, scheme: str) -> tuple[int | None, str]:
        key = await self.fed.keys.current(delivery.sender)
        body = delivery.body.encode()

        def sign(request: Any) -> None:
            message = sig.Message(request.method, str(request.url), request.headers, body)
            sig.sign(scheme, message, key.key_id, key.private_key)

        try:
            response = await self.fed.client.request(
                "POST",
                delivery.inbox,
                headers={"Content-Type": ACTIVITY_JSON, "Accept": ACTIVITY_JSON},
                content=body,
                sign=sign,
            )
        except FetchError as exc:
            return None, exc.message
        return response.status, "" if response.status < 300 else response.body[:200].decode(
            "utf-8", "replace"
        )

    async def _postpone(self, delivery: FederationDelivery, until: datetime) -> str:
        async with self.fed.db.session() as session:
            row = await session.get(FederationDelivery, delivery.id)
            if row is None or row.state != SENDING:  # dropped meanwhile (an instance block)
                return row.state if row else DROPPED
            row.state, row.lease_until, row.next_attempt_at = PENDING, None, until  # type: ignore[union-attr]
            session.add(row)
            await session.commit()
        return PENDING

    async def _finish(
        self, delivery: FederationDelivery, state: str, status: int | None, error: str
    ) -> str:
        async with self.fed.db.session() as session:
            row = await session.get(FederationDelivery, delivery.id)
            if row is None or row.state != SENDING:  # dropped meanwhile (an instance block)
                return row.state if row else DROPPED
            row.state, row.lease_until = state, None  # type: ignore[union-attr]
            row.attempts += 1 if state != DROPPED else 0  # type: ignore[union-attr]
            row.last_status, row.last_error = status, error[:500]  # type: ignore[union-attr]
            if state == DELIVERED:
                row.delivered_at = datetime.now(UTC)  # type: ignore[union-attr]
            session.add(row)
            await session.commit()
        log = logger.info if state == DELIVERED else logger.warning
        log(
            "delivery of %s to %s: %s%s",
            delivery.activity_id,
            delivery.inbox,
            state,
            f" ({error})" if error else "",
        )
        return state
