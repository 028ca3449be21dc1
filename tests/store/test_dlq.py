"""The dead letter queue: listing newest first in pages, requeue (one, by type, all),
purge (by type, by age), and the janitor's retention of the DLQ and finished index."""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain

import pytest
import redis.asyncio as aioredis

from gopher_server.components.janitor import Janitor
from gopher_server.store import admin, listing
from gopher_server.store.records import NackItem
from gopher_server.store.store import Store, StoreSettings
from tests.conftest import FakeClock
from tests.store.helpers import history, holders, job_hash, lease_one, new_job, ready_ids

ORDER = ["x0", "y0", "x1", "x2", "y1", "x3", "x4", "y2", "x5", "x6"]


async def kill(store: Store, clock: FakeClock, job_ids: list[str], step_ms: int = 1000) -> None:
    """Submit and dead-letter each job in turn, `step_ms` apart."""
    for job_id in job_ids:
        job_type = job_id.rstrip("0123456789") or "email"
        await store.submit([new_job(job_id, job_type)])
        lease = await lease_one(store, types=(job_type,))
        nack = NackItem(job_id, lease.token, "Fatal", job_id, non_retryable=True)
        assert await store.nack([nack]) == ["dead"]
        clock.advance(step_ms)


async def all_pages(store: Store, page_size: int, **filters: str) -> list[list[str]]:
    pages: list[list[str]] = []
    token = ""
    while True:
        records, token = await listing.list_jobs(
            store, page_size=page_size, page_token=token, **filters
        )
        pages.append([r.id for r in records])
        if not token:
            return pages


@pytest.mark.one_partition
async def test_dlq_lists_newest_first_by_type_in_pages(store: Store, clock: FakeClock) -> None:
    await kill(store, clock, ORDER)
    pages = await all_pages(store, 3, state="dead", job_type="x")
    assert pages == [["x6", "x5", "x4"], ["x3", "x2", "x1"], ["x0"]]
    everything = await all_pages(store, 4, state="dead")
    assert list(chain.from_iterable(everything)) == list(reversed(ORDER))
    assert [len(p) for p in everything] == [4, 4, 2]
    with pytest.raises(listing.BadPageToken):
        await listing.list_jobs(store, state="dead", page_token="not-a-token")


async def test_requeue_one_resets_attempts_and_returns_it_to_its_queue(
    store: Store, clock: FakeClock
) -> None:
    await kill(store, clock, ["x0"])
    await store.submit([new_job("waiting", "x")])
    assert await store.requeue_dead(["x0"]) == 1
    fields = await job_hash(store, "x0")
    assert (fields["state"], fields["attempt"]) == ("enqueued", "0")
    assert "finished" not in fields
    assert await holders(store, "x0") == [store.job_keys("x0").ready("normal", "x")]
    assert await ready_ids(store, "normal", "x") == ["waiting", "x0"]
    events = await history(store, "x0")
    assert events and (events[-1]["f"], events[-1]["s"]) == (
        "dead",
        "enqueued",
    )
    assert await store.requeue_dead(["x0", "waiting", "unknown"]) == 0
    leases = (await store.dispatch("w2", "s1", 2, ["x"])).leases
    assert {lease.job_id: lease.attempt for lease in leases} == {"waiting": 1, "x0": 1}


@pytest.mark.one_partition
async def test_requeue_by_type_then_all(store: Store, clock: FakeClock) -> None:
    await kill(store, clock, ORDER)
    x_ids = await admin.dead_ids(store, job_type="x")
    assert sorted(x_ids) == [f"x{n}" for n in range(7)]
    assert await admin.requeue_dead(store, x_ids) == 7
    assert await store.redis.zrange(store.keys.dead(), 0, -1) == ["y0", "y1", "y2"]
    assert len(await ready_ids(store, "normal", "x")) == 7
    assert await admin.requeue_dead(store, await admin.dead_ids(store)) == 3
    assert await store.redis.zcard(store.keys.dead()) == 0


@pytest.mark.one_partition
async def test_requeue_all_crosses_chunk_boundaries(store: Store) -> None:
    ids = [f"j{n}" for n in range(1200)]
    await store.submit([new_job(i, retries=0) for i in ids])
    leases = (await store.dispatch("w1", "s1", 1200, ["email"])).leases
    await store.nack([NackItem(x.job_id, x.token, "E", "m") for x in leases])
    assert await store.redis.zcard(store.keys.dead()) == 1200
    assert await admin.requeue_dead(store, await admin.dead_ids(store)) == 1200
    assert sorted(await ready_ids(store, "normal", "email")) == sorted(ids)


@pytest.mark.one_partition
async def test_purge_by_type_and_age_deletes_the_jobs(store: Store, clock: FakeClock) -> None:
    await kill(store, clock, ORDER)  # x0 died 10 s ago ... x6 1 s ago
    old_x = await admin.dead_ids(store, job_type="x", older_than_ms=5000)
    assert sorted(old_x) == ["x0", "x1", "x2", "x3"]
    assert await admin.purge_dead(store, old_x) == 4
    for job_id in old_x:
        assert (
            await store.redis.exists(
                store.job_keys(job_id).job(job_id), store.job_keys(job_id).history(job_id)
            )
            == 0
        )
        assert await holders(store, job_id) == []
    assert await store.redis.zcard(store.keys.dead()) == 6
    assert await admin.purge_dead(store, await admin.dead_ids(store, job_type="y")) == 3
    assert await store.redis.zrange(store.keys.dead(), 0, -1) == ["x4", "x5", "x6"]
    await store.submit([new_job("alive")])
    assert await store.purge_dead(["alive", "x0"]) == 0
    assert await store.redis.exists(store.job_keys("alive").job("alive")) == 1


@pytest.mark.one_partition
async def test_janitor_trims_finished_index_and_dlq_by_age_and_count(
    aredis: aioredis.Redis, clock: FakeClock, make_store: Callable[..., Store]
) -> None:
    store = make_store(StoreSettings(finished_retention_ms=60_000))
    janitor = Janitor(store, 60, dead_retention_ms=10_000, dead_max_jobs=3)
    await store.submit([new_job(f"ok{n}") for n in range(4)])
    for n in range(4):
        lease = await lease_one(store)
        assert await store.ack([(lease.job_id, lease.token, "{}")]) == ["ok"]
        clock.advance(25_000 if n == 1 else 1)
    await kill(store, clock, [f"d{n}" for n in range(6)], step_ms=3000)
    # Now: ok0, ok1 finished ~43 s ago; ok2, ok3 ~18 s ago. d0..d5 died 18..3 s ago.
    assert await janitor._tick() is False
    assert await store.redis.zcard(store.keys.finished()) == 4
    assert await store.redis.zrange(store.keys.dead(), 0, -1) == ["d3", "d4", "d5"]
    for job_id in ("d0", "d1", "d2"):
        assert await store.redis.exists(store.job_keys(job_id).job(job_id)) == 0
    clock.advance(20_000)
    await janitor._tick()
    assert await store.redis.zrange(store.keys.finished(), 0, -1) == ["ok2", "ok3"]
    assert await store.redis.zcard(store.keys.dead()) == 0
    # Jobs past retention leave the id index too: nothing there outlives its job.
    assert await store.redis.zrange(store.keys.job_ids(), 0, -1) == ["ok2", "ok3"]


@pytest.mark.one_partition
async def test_purge_releases_the_idempotency_key(store: Store, clock: FakeClock) -> None:
    # The key must not keep answering for a job that no longer exists (as "succeeded").
    await store.submit([new_job("first", retries=0, idempotency_key="order-7")])
    lease = await lease_one(store)
    assert await store.nack([NackItem("first", lease.token, "E", "m")]) == ["dead"]
    assert await store.purge_dead(["first"]) == 1
    assert await store.redis.exists(store.keys.idempotency("order-7")) == 0
    (again,) = await store.submit([new_job("second", idempotency_key="order-7")])
    assert (again.job_id, again.state, again.duplicate) == ("second", "enqueued", False)


@pytest.mark.one_partition
async def test_janitor_trims_finished_jobs_by_count(store: Store, clock: FakeClock) -> None:
    await store.submit([new_job(f"f{i}") for i in range(5)])
    for _ in range(5):
        lease = await lease_one(store)
        await store.ack([(lease.job_id, lease.token, "{}")])
        clock.advance(1)
    janitor = Janitor(store, 1.0, 10**12, 10**6, finished_max_jobs=2)
    await janitor._tick()
    keys = store.keys
    assert await store.redis.zrange(keys.finished(), 0, -1) == ["f3", "f4"]
    assert not await store.redis.exists(keys.job("f0"), keys.history("f0"))
    assert await store.redis.exists(keys.job("f4"))


async def test_queue_stats_count_the_last_minute(store: Store, clock: FakeClock) -> None:
    await store.submit([new_job(f"t{i}") for i in range(3)])
    for i in range(3):
        if i:
            clock.advance(40_000)  # finishes at 0 s, 40 s, 80 s; asked at 80 s
        lease = await lease_one(store)
        await store.ack([(lease.job_id, lease.token, "{}")])
    stats = await admin.queue_stats(store)
    assert (stats.finished, stats.finished_last_minute) == (3, 2)
