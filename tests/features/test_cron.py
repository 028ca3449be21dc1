"""Cron schedules: exactly one job per tick however many brokers evaluate them, a
documented policy for missed ticks, time zones, and pausing. Time is a FakeClock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
from gopher.v1 import admin_service_pb2 as apb

from gopher_client import AsyncClient
from gopher_server.components.cron import CronScheduler, idempotency_key
from gopher_server.errors import InvalidArgument
from gopher_server.schedule_rules import zone
from gopher_server.store import schedules
from gopher_server.store.store import Store
from tests.conftest import FakeClock
from tests.support import BrokerThread, until

MINUTE_MS = 60_000


def definition(cron: str = "* * * * *", tz: str = "", missed: str = "run_once") -> dict[str, Any]:
    """A stored schedule definition submitting a "report" job."""
    return {
        "cron": cron,
        "tz": tz,
        "paused": False,
        "type": "report",
        "payload": '{"kind": "daily"}',
        "priority": "normal",
        "retries": 3,
        "missed": missed,
    }


async def report_jobs(store: Store) -> list[str]:
    """Ids of the ready "report" jobs, oldest first."""
    return [str(i) for i in await store.redis.lrange(store.keys.ready("normal", "report"), 0, -1)]


def next_minute(clock: FakeClock) -> int:
    return (clock.ms // MINUTE_MS + 1) * MINUTE_MS


async def test_a_new_schedule_fires_from_its_next_tick_once(store: Store, clock: FakeClock) -> None:
    clock.ms = next_minute(clock) - 30_000  # half a minute before a tick
    await schedules.put(store, "nightly", definition())
    cron = CronScheduler(store)
    await cron._tick()
    assert await report_jobs(store) == []  # the tick before creation never fires
    clock.ms = next_minute(clock)
    await cron._tick()
    await cron._tick()
    (job_id,) = await report_jobs(store)
    job = await store.get_job(job_id)
    assert job is not None and job.idempotency_key == idempotency_key("nightly", clock.ms)
    assert job.payload == '{"kind": "daily"}'
    assert await schedules.last_run(store, "nightly") == clock.ms


async def test_three_schedulers_racing_make_one_job_per_tick(
    aredis: aioredis.Redis, store: Store, clock: FakeClock, make_store: Callable[..., Store]
) -> None:
    await schedules.put(store, "every-minute", definition())
    # Three brokers' schedulers evaluating at once, each several times per tick.
    stores = [make_store() for _ in range(3)]
    crons = [CronScheduler(s) for s in stores]
    for _ in range(10):
        clock.ms = next_minute(clock)
        await asyncio.gather(*(c._tick() for c in crons for _ in range(3)))
    assert len(await report_jobs(store)) == 10
    assert sum(c.fired for c in crons) == 10


async def test_missed_ticks_run_once_not_as_a_burst(store: Store, clock: FakeClock) -> None:
    await schedules.put(store, "often", definition())
    cron = CronScheduler(store)
    clock.ms = next_minute(clock) + 10 * MINUTE_MS + 5_000  # ten ticks passed unseen
    await cron._tick()
    assert len(await report_jobs(store)) == 1
    latest = clock.ms - 5_000
    assert await schedules.last_run(store, "often") == latest
    clock.advance(30_000)
    await cron._tick()
    assert len(await report_jobs(store)) == 1  # nothing more until the next tick
    clock.ms = next_minute(clock)
    await cron._tick()
    assert len(await report_jobs(store)) == 2


async def test_missed_ticks_can_be_skipped(store: Store, clock: FakeClock) -> None:
    await schedules.put(store, "often", definition(missed="skip"))
    cron = CronScheduler(store)
    clock.ms = next_minute(clock) + 3 * MINUTE_MS + 15_000  # the latest tick is 15 s late
    await cron._tick()
    assert await report_jobs(store) == [] and cron.skipped == 1
    clock.ms = next_minute(clock) + 500  # noticed on time
    await cron._tick()
    assert len(await report_jobs(store)) == 1


async def test_time_zone_and_every_interval(store: Store, clock: FakeClock) -> None:
    # 2027-01-15 08:00 UTC; 09:00 in New York (EST, UTC-5) is 14:00 UTC.
    assert clock.ms == 1_800_000_000_000
    await schedules.put(store, "ny-morning", definition("0 9 * * *", "America/New_York"))
    await schedules.put(store, "half-minute", definition("@every 30s"))
    cron = CronScheduler(store)
    clock.ms = 1_800_000_000_000 + 6 * 3600_000 - 1  # 13:59:59.999 UTC
    await cron._tick()  # the interval fires once for the hours it missed
    assert await schedules.last_run(store, "ny-morning") == 0
    clock.advance(1)
    await cron._tick()
    assert await schedules.last_run(store, "ny-morning") == clock.ms
    assert await schedules.last_run(store, "half-minute") == clock.ms  # a multiple of 30 s
    clock.advance(30_000)
    await cron._tick()
    assert await schedules.last_run(store, "half-minute") == clock.ms
    assert len(await report_jobs(store)) == 4


async def test_paused_ticks_are_skipped_and_resume_starts_afresh(
    store: Store, clock: FakeClock
) -> None:
    d = definition()
    await schedules.put(store, "p", d)
    cron = CronScheduler(store)
    await schedules.put(store, "p", {**d, "paused": True})
    clock.ms = next_minute(clock) + 1
    await cron._tick()
    clock.advance(5 * MINUTE_MS)
    await schedules.put(store, "p", d)  # resume
    await cron._tick()
    assert await report_jobs(store) == []
    clock.ms = next_minute(clock)
    await cron._tick()
    assert len(await report_jobs(store)) == 1


def _crons(brokers: list[BrokerThread]) -> list[CronScheduler]:
    found = []
    for b in brokers:
        assert b.broker is not None
        found += [c for c in b.broker.components if isinstance(c, CronScheduler)]
    assert len(found) == len(brokers)
    return found


async def test_three_brokers_fire_exactly_one_job_per_tick(
    broker_factory: Callable[..., BrokerThread], clock: FakeClock
) -> None:
    clock.ms = next_minute(clock) - 10_000
    brokers = [broker_factory(clock=clock) for _ in range(3)]
    crons = _crons(brokers)
    async with AsyncClient(brokers[0].address) as client:
        schedule = apb.Schedule(name="minutely", cron="* * * * *")
        schedule.job.type = "report"
        schedule.job.payload_json = '{"kind": "minutely"}'
        created = await client.call(
            client.admin.CreateSchedule, apb.CreateScheduleRequest(schedule=schedule)
        )
        assert created.schedule.next_run_at.ToMilliseconds() == next_minute(clock)
        for tick in range(1, 4):
            clock.ms = next_minute(clock) + 100
            # Every broker completes an evaluation that started after the clock moved.
            marks = [c.passes + 1 for c in crons]
            for cron, mark in zip(crons, marks, strict=True):
                await until(lambda c=cron, m=mark: _passed(c, m), what="a cron pass")  # type: ignore[misc]
            jobs = (await client.list_jobs(job_type="report")).jobs
            assert len(jobs) == tick
        listed = await client.call(client.admin.ListSchedules, apb.ListSchedulesRequest())
        (shown,) = listed.schedules
        assert shown.last_run_at.ToMilliseconds() == clock.ms - 100
        assert shown.missed_ticks == apb.MISSED_TICKS_RUN_ONCE
    assert sum(c.fired for c in crons) == 3


async def _passed(cron: CronScheduler, mark: int) -> bool:
    return cron.passes > mark


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "../etc/passwd", "x" * 300, "UTC\x00"])
def test_an_unknown_time_zone_is_an_invalid_argument(name: str) -> None:
    with pytest.raises(InvalidArgument, match="is not an IANA time zone") as caught:
        zone(name)
    assert caught.value.field == "schedule.timezone"
    assert len(caught.value.message) < 120  # a huge name is not echoed back whole
