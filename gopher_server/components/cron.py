"""Fires cron schedules: exactly one job per tick however many brokers run.

Every broker evaluates every schedule each second. The job of a tick is submitted with
the idempotency key "schedule:<name>:<tick ms>", then the tick is claimed (the record
of the last fired tick moves forward atomically). Brokers that race on a tick submit
the same key, so one job is created; a broker that dies between submit and claim
leaves the tick unclaimed, and whoever evaluates next submits the same key again, a
duplicate. So each tick makes exactly one job, never zero, never two.

Missed ticks (all brokers down, or a broker stalled): a tick noticed more than 10 s
late is missed. With the default policy RUN_ONCE the
schedule fires once for the latest missed tick, never a burst of catch-up jobs; with
SKIP it fires nothing until its next tick.
"""

from __future__ import annotations

import logging
from typing import Any

from gopher_server import schedule_rules
from gopher_server.components.base import PeriodicComponent
from gopher_server.components.type_catalog import TypeCatalog
from gopher_server.outage import REDIS_DOWN
from gopher_server.services.schedule_codec import template_job
from gopher_server.store import schedules
from gopher_server.store.store import Store

log = logging.getLogger(__name__)

# A tick noticed later than this counts as missed (brokers evaluate every second, so an
# on-time tick is noticed well within it).
MISSED_AFTER_MS = 10_000


def idempotency_key(name: str, tick_ms: int) -> str:
    """The idempotency key of the job a schedule submits for one tick."""
    return f"schedule:{name}:{tick_ms}"


class CronScheduler(PeriodicComponent):
    """Submits each schedule's job template when its tick is due."""

    name = "cron"

    def __init__(
        self, store: Store, interval_s: float = 1.0, catalog: TypeCatalog | None = None
    ) -> None:
        super().__init__(interval_s)
        self.store = store
        self.catalog = catalog  # job type defaults for template fields left unset
        self.fired = 0  # jobs this broker created
        self.skipped = 0  # missed ticks passed over under the SKIP policy
        self.passes = 0  # evaluations completed (tests wait on it)

    async def _tick(self) -> bool:
        now = self.store.clock.now_ms()
        ticks = await schedules.all_ticks(self.store)
        for name, definition in (await schedules.all_schedules(self.store)).items():
            try:
                await self._evaluate(name, definition, ticks.get(name, 0), now)
            except REDIS_DOWN:
                raise  # not this schedule's fault: the tick fails, logged once per outage
            except Exception:  # one broken schedule must not stop the others
                log.exception("schedule %s could not be evaluated", name)
        self.passes += 1
        return False

    async def _evaluate(self, name: str, d: dict[str, Any], last: int, now: int) -> None:
        if d["paused"]:
            return
        if last == 0:
            # No start recorded (a definition written without one): start from now, so
            # the first tick is the next one, not one in the past.
            await schedules.claim_tick(self.store, name, now)
            return
        due = schedule_rules.latest_tick_ms(d["cron"], d["tz"], now)
        if due <= last:
            return
        if d.get("missed") == "skip" and now - due > MISSED_AFTER_MS:
            if await schedules.claim_tick(self.store, name, due):
                self.skipped += 1
                log.info("schedule %s skipped missed tick %d", name, due)
            return
        defaults = self.catalog.view.defaults if self.catalog is not None else {}
        job = template_job(d, idempotency_key(name, due), defaults)
        (result,) = await self.store.submit([job])
        await schedules.claim_tick(self.store, name, due)
        await schedules.record_run(self.store, name, due)
        if not result.duplicate:
            self.fired += 1
            log.info("schedule %s fired tick %d as job %s", name, due, result.job_id)
