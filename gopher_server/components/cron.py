"""Fires cron schedules: exactly one job per tick however many brokers run.

Every broker evaluates every schedule each second; a tick fires only for the broker
whose atomic claim (last fired tick < this tick) succeeds. Missed ticks while all
brokers were down are coalesced: on return, the schedule fires once for the latest
missed tick, not once per missed tick.
"""

from __future__ import annotations

import logging
import uuid

from gopher_server import schedule_rules
from gopher_server.components.base import PeriodicComponent
from gopher_server.store import schedules
from gopher_server.store.records import NewJob
from gopher_server.store.store import Store

log = logging.getLogger(__name__)


class CronScheduler(PeriodicComponent):
    """Submits each schedule's job template when its tick is due."""

    name = "cron"

    def __init__(self, store: Store, interval_s: float = 1.0) -> None:
        super().__init__(interval_s)
        self.store = store
        self.fired = 0

    async def _tick(self) -> bool:
        now = self.store.clock.now_ms()
        for name, d in (await schedules.all_schedules(self.store)).items():
            if d["paused"]:
                continue
            last = await schedules.last_tick(self.store, name)
            if last == 0:
                # A new schedule starts from its creation: record "now" as the baseline
                # so the first tick is the next one, not one in the past.
                await schedules.claim_tick(self.store, name, now)
                continue
            # Only the latest due tick fires: missed ticks coalesce into one run.
            due = schedule_rules.latest_tick_ms(d["cron"], d["tz"], now)
            if due <= last or not await schedules.claim_tick(self.store, name, due):
                continue
            job = NewJob(
                id=str(uuid.uuid4()),
                type=d["type"],
                priority=d["priority"],
                payload=d["payload"],
                retries=d["retries"],
            )
            await self.store.submit([job])
            self.fired += 1
            log.info("schedule %s fired tick %d as job %s", name, due, job.id)
        return False
