"""Base for background components: one asyncio task, a `_tick()` per loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


class PeriodicComponent:
    """Runs `_tick()` every `interval_s` until stopped.

    `_tick()` returns True to run again at once (a backlog remains). A failed tick is
    logged with the component's name and the loop goes on; only cancellation ends
    it. `stop()` is safe before `start()` and safe twice.
    """

    name = "component"

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        """Start the loop task."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"gopher-{self.name}")

    async def stop(self) -> None:
        """Cancel the loop and wait for it to end."""
        task, self._task = self._task, None
        self._stopping = True
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while not self._stopping:
            again = False
            try:
                again = await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                # redis-py may turn a cancellation into a ConnectionError; the flag
                # makes sure stop() still ends the loop.
                if self._stopping:
                    return
                log.exception("%s tick failed; retrying in %.1fs", self.name, self.interval_s)
            await asyncio.sleep(0 if again else self.interval_s)

    async def _tick(self) -> bool:
        raise NotImplementedError
