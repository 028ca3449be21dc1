"""Base for background components: one asyncio task, a `_tick()` per loop."""

from __future__ import annotations

import asyncio
import logging

from gopher_server.outage import REDIS_DOWN, RedisOutage

log = logging.getLogger(__name__)

# How long stop() waits for the loop between cancellations. redis-py can swallow a
# cancellation (redis/redis-py#2028), so stop() cancels again until the task ends.
STOP_RETRY_S = 0.5


class PeriodicComponent:
    """Runs `_tick()` every `interval_s` until stopped.

    `_tick()` returns True to run again at once (a backlog remains). A failed tick is
    logged with the component's name and the loop goes on; only stop() ends it. Ticks
    that fail because Redis is away log once per outage (see outage.py).
    `stop()` is safe before `start()` and safe twice.
    """

    name = "component"

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._outage = RedisOutage(self.name, log)

    def start(self) -> None:
        """Start the loop task."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"gopher-{self.name}")

    async def stop(self) -> None:
        """End the loop and wait for it, cancelling again if a cancellation is lost."""
        task, self._task = self._task, None
        self._stopping = True
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=STOP_RETRY_S)
        if task is not None and not task.cancelled() and task.exception() is not None:
            log.error("%s ended with an error", self.name, exc_info=task.exception())

    async def _run(self) -> None:
        while not self._stopping:
            again = False
            try:
                again = await self._tick()
                self._outage.back()
            except asyncio.CancelledError:
                raise
            except REDIS_DOWN as exc:
                if self._stopping:
                    return
                self._outage.lost(exc)
            except Exception:
                if self._stopping:  # a cancellation that surfaced as another error
                    return
                log.exception("%s tick failed; retrying in %.1fs", self.name, self.interval_s)
            if self._stopping:
                return
            await asyncio.sleep(0 if again else self.interval_s)

    async def _tick(self) -> bool:
        raise NotImplementedError
