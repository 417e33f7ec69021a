"""One background task that sleeps until it is woken or its wait runs out, then takes
a step; the inbox processor and the room publisher are such tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging

logger = logging.getLogger(__name__)


class WakeableTask:
    """Runs :meth:`step` whenever :meth:`wake` is called or the wait the last step
    returned has passed. A step that fails is logged and the task carries on, waiting
    ``retry_seconds``."""

    name = "federation-task"
    retry_seconds = 60.0

    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def step(self) -> float:
        """Do what is due; return how many seconds to wait at most before the next."""
        raise NotImplementedError

    async def _run(self) -> None:
        wait = 0.0  # a first step at once: whatever was left from the last run
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, wait))
            self._wake.clear()
            try:
                wait = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("%s failed; it carries on", self.name)
                wait = self.retry_seconds
