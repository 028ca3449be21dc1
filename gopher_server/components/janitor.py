"""Keeps Redis memory bounded: trims finished jobs, the DLQ, and stale workers."""

from __future__ import annotations

import asyncio
import logging

from gopher_server.components.base import PeriodicComponent
from gopher_server.store import admin, circuits, retention
from gopher_server.store import workers as registry
from gopher_server.store.store import Store

log = logging.getLogger(__name__)
# Workers silent this long (and holding no jobs) are dropped from the registry.
WORKER_FORGET_MS = 3600 * 1000
# Finished jobs deleted per script call when over the count cap.
TRIM_BATCH = 1000


class Janitor(PeriodicComponent):
    """Applies retention. Finished job hashes expire by TTL on their own; this trims
    the indexes that point at them, and enforces the DLQ's age and count limits."""

    name = "janitor"

    def __init__(
        self,
        store: Store,
        interval_s: float,
        dead_retention_ms: int,
        dead_max_jobs: int,
        finished_max_jobs: int = 100_000,
    ) -> None:
        super().__init__(interval_s)
        self.store = store
        self.dead_retention_ms = dead_retention_ms
        self.dead_max_jobs = dead_max_jobs
        self.finished_max_jobs = finished_max_jobs

    async def _tick(self) -> bool:
        now = self.store.clock.now_ms()
        await retention.forget_finished_before(
            self.store, now - self.store.settings.finished_retention_ms
        )
        # Bounded script calls, repeated until under the cap, yielding in between so
        # dispatch interleaves even when a burst of jobs finished at once.
        trimmed = 0
        while (step := await self.store.trim_finished(self.finished_max_jobs, TRIM_BATCH)) > 0:
            trimmed += step
            if step < TRIM_BATCH:
                break
            await asyncio.sleep(0)
        if trimmed:
            log.info("janitor removed %d finished job(s) past the count limit", trimmed)
        expired = await retention.dead_past_limits(
            self.store, self.dead_retention_ms, self.dead_max_jobs
        )
        if expired:
            purged = await admin.purge_dead(self.store, expired)
            log.info("janitor removed %d dead job(s) past DLQ retention", purged)
        await registry.prune_workers(self.store, WORKER_FORGET_MS)
        await circuits.prune(self.store)
        await self.store.prune_holds()
        return False
