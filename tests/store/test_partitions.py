"""A namespace split into partitions keeps every guarantee of one: run on 4 partitions
of one server and on 6 partitions of a 3-master Redis Cluster (tests/store/conftest.py),
where every script runs under `#!lua` and would fail on any cross-slot access."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import pytest
import redis.exceptions

from gopher_server.store import admin, events, listing, spread
from gopher_server.store.cluster import ClusterRoutes, ClusterScripts
from gopher_server.store.lua_sources import SCRIPT_NAMES, script_source
from gopher_server.store.records import Lease, NackItem
from gopher_server.store.store import Store
from tests.conftest import FakeClock
from tests.store.helpers import new_job
from tests.store.test_cluster_keys import key_slot, run_every_script


@pytest.fixture
def parted(store: Store, redis_transport: str) -> Store:
    """The test's store, when its namespace has several partitions."""
    if store.single:
        pytest.skip("about partitioned namespaces")
    return store


async def test_a_batch_spreads_over_partitions_and_every_job_is_found(parted: Store) -> None:
    ids = [f"job-{n}" for n in range(200)]
    results = await parted.submit([new_job(i) for i in ids])
    assert [r.job_id for r in results] == ids  # placed where each id hashes: ids kept
    partitions = Counter(parted.layout.partition_of(i) for i in ids)
    assert len(partitions) == parted.layout.count
    records = await parted.get_jobs(ids)
    assert [r.id for r in records] == ids
    assert (await admin.queue_stats(parted)).queues[1].depth == 200


async def test_idempotency_holds_across_partitions(parted: Store) -> None:
    firsts = await parted.submit(
        [new_job(f"a{n}", idempotency_key=f"order-{n}") for n in range(30)]
    )
    again = await parted.submit([new_job(f"b{n}", idempotency_key=f"order-{n}") for n in range(30)])
    assert [r.duplicate for r in again] == [True] * 30
    assert [r.job_id for r in again] == [r.job_id for r in firsts]
    for first in firsts:  # each job lives where its key hashes, and its id says so
        part = parted.part_of(first.job_id)
        assert part is not None
        assert part.index == parted.layout.key_partition(f"order-{firsts.index(first)}")
    assert (await admin.queue_stats(parted)).queues[1].depth == 30


async def test_a_workers_capacity_holds_across_partitions(parted: Store) -> None:
    await parted.submit([new_job(f"j{n}") for n in range(60)])
    first = await parted.dispatch("w1", "s1", 5, ["email"])
    assert len(first.leases) == 5
    assert (await parted.dispatch("w1", "s1", 5, ["email"])).leases == []
    done = first.leases[:2]
    assert await parted.ack([(x.job_id, x.token, "{}") for x in done]) == ["ok", "ok"]
    refill = await parted.dispatch("w1", "s1", 5, ["email"])
    assert len(refill.leases) == 2
    assert sum(await parted.inflight_counts("w1")) == 5


async def test_acks_counted_during_a_dispatch_are_kept(parted: Store) -> None:
    # A worker's acks lower this broker's count of its leases while one of its
    # dispatches walks the partitions; the dispatch must not undo them, or the count
    # creeps up until every dispatch is short of the worker's free slots.
    await parted.submit([new_job(f"a{n}") for n in range(4)])
    first = (await parted.dispatch("w1", "s1", 8, ["email"])).leases
    assert len(first) == 4
    await parted.submit([new_job(f"b{n}") for n in range(4)])  # about 1 per partition
    walking = asyncio.create_task(parted.dispatch("w1", "s1", 8, ["email"]))
    await asyncio.sleep(0)  # the dispatch is under way, in its first partition
    acked = await parted.ack_for_worker([(x.job_id, x.token, "{}") for x in first[:2]], "w1")
    assert acked == [("ok", "email")] * 2
    await walking
    truth = await parted.inflight_counts("w1")
    assert sum(truth) == 6
    assert parted.spread.counts["w1"] == truth


async def test_a_dispatch_says_whether_it_filled_the_workers_slots(parted: Store) -> None:
    # The stream parks on a filled dispatch instead of looking again at once: with
    # several partitions that look reads the worker's count in every one of them.
    await parted.submit([new_job(f"a{n}") for n in range(6)])
    some = await parted.dispatch("w1", "s1", 8, ["email"])
    assert len(some.leases) == 6 and not some.filled
    await parted.submit([new_job(f"b{n}") for n in range(6)])
    rest = await parted.dispatch("w1", "s1", 8, ["email"])
    assert len(rest.leases) == 2 and rest.filled
    await parted.ack_for_worker([(x.job_id, x.token, "{}") for x in some.leases[:3]], "w1")
    again = await parted.dispatch("w1", "s1", 8, ["email"])
    assert len(again.leases) == 3 and again.filled


async def test_a_count_left_high_by_acks_elsewhere_is_read_afresh_in_time(
    parted: Store, make_store: Callable[[], Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    # This broker's count of a worker's leases errs high when they end elsewhere (acked
    # through another broker, expired); a dispatch re-reads it once it is RECOUNT_S old,
    # or the worker would run below its capacity for as long as acks keep coming here.
    monkeypatch.setattr(spread, "RECOUNT_S", 3600.0)
    await parted.submit([new_job(f"a{n}") for n in range(6)])
    held = (await parted.dispatch("w1", "s1", 8, ["email"])).leases
    assert len(held) == 6
    await make_store().ack([(x.job_id, x.token, "{}") for x in held[:4]])  # another broker
    assert sum(parted.spread.counts["w1"]) == 6
    assert sum(await parted.inflight_counts("w1")) == 2
    await parted.submit([new_job(f"b{n}") for n in range(10)])
    monkeypatch.setattr(spread, "RECOUNT_S", 0.0)  # the count is now too old to trust
    again = await parted.dispatch("w1", "s1", 8, ["email"])
    assert len(again.leases) == 6 and again.filled
    assert sum(await parted.inflight_counts("w1")) == 8 == sum(parted.spread.counts["w1"])


async def test_concurrent_dispatches_of_one_stream_never_exceed_its_capacity(
    parted: Store,
) -> None:
    await parted.submit([new_job(f"j{n}") for n in range(100)])
    results = await asyncio.gather(*(parted.dispatch("w1", "s1", 7, ["email"]) for _ in range(6)))
    assert sum(len(r.leases) for r in results) == 7
    assert sum(await parted.inflight_counts("w1")) == 7


async def test_strict_priority_across_partitions(make_store: object, redis_transport: str) -> None:
    from gopher_server.store.store import StoreSettings

    store = make_store(StoreSettings(strict_priority=True))  # type: ignore[operator]
    if store.single:
        pytest.skip("about partitioned namespaces")
    await store.submit([new_job(f"l{n}", priority="low") for n in range(40)])
    await store.submit([new_job(f"h{n}", priority="high") for n in range(40)])
    await store.submit([new_job(f"n{n}", priority="normal") for n in range(40)])
    served: list[str] = []
    while leases := (await store.dispatch("w1", f"s{len(served)}", 1, ["email"])).leases:
        served.append(leases[0].priority)
        assert await store.ack([(leases[0].job_id, leases[0].token, "{}")]) == ["ok"]
    assert served == ["high"] * 40 + ["normal"] * 40 + ["low"] * 40


async def test_weighted_priorities_keep_3_2_1_across_partitions(parted: Store) -> None:
    for priority in ("high", "normal", "low"):
        await parted.submit([new_job(f"{priority}{n}", priority=priority) for n in range(3000)])
    served: Counter[str] = Counter()
    while min(served[p] for p in ("high", "normal", "low")) < 900 and served["high"] < 2900:
        result = await parted.dispatch("w1", "s1", 30, ["email"])
        served.update(x.priority for x in result.leases)
        assert await parted.ack([(x.job_id, x.token, "{}") for x in result.leases])
    total = sum(served.values())
    for priority, weight in (("high", 3), ("normal", 2), ("low", 1)):
        assert abs(served[priority] / total - weight / 6) <= 0.03, served


async def test_dlq_pages_newest_first_across_partitions(parted: Store, clock: FakeClock) -> None:
    ids = [f"d{n}" for n in range(40)]
    await parted.submit([new_job(i, retries=0) for i in ids])
    leases = (await parted.dispatch("w1", "s1", 40, ["email"])).leases
    for n, lease in enumerate(leases):
        if n % 3 == 0:
            clock.advance(1)  # ties at one ms, and across partitions
        await parted.nack([NackItem(lease.job_id, lease.token, "E", "boom")])
    died = [x.job_id for x in leases]
    seen: list[str] = []
    token = ""
    while True:
        records, token = await listing.list_jobs(
            parted, state="dead", page_size=7, page_token=token
        )
        seen += [r.id for r in records]
        if not token:
            break
    assert sorted(seen) == sorted(died) and len(seen) == len(set(seen))
    times = [r.finished_ms for r in await parted.get_jobs(seen)]
    assert times == sorted(times, reverse=True)


async def test_events_feed_pages_through_every_partition_once(parted: Store) -> None:
    ids = [f"e{n}" for n in range(50)]
    await parted.submit([new_job(i) for i in ids])
    first = await events.read_events(parted, "0", 17)
    seen = [e.job_id for e in first.entries]
    token = first.last_id
    while True:
        page = await events.read_events(parted, token, 17)
        if not page.entries:
            break
        seen += [e.job_id for e in page.entries]
        token = page.last_id
    assert sorted(seen) == sorted(ids)
    newest = await events.read_events(parted, "", 10)
    assert len(newest.entries) == 10
    assert (await events.read_events(parted, newest.last_id, 10)).entries == []


async def test_a_foreign_id_is_simply_missing(parted: Store) -> None:
    bad = f"p{parted.layout.count}-nothing"
    assert await parted.get_job(bad) is None
    assert await parted.cancel(bad) == ("missing", False)
    assert await parted.ack([(bad, 1, "{}")]) == ["missing"]


async def test_every_key_carries_the_control_tag_or_one_partitions_tag(
    parted: Store, clock: FakeClock
) -> None:
    # Every script runs in this workload; on the cluster each runs under `#!lua`, so
    # a key outside its partition's slot would have failed the call.
    keys = await run_every_script(parted, clock)
    tags = {parted.keys.tag, *(part.keys.tag for part in parted.parts)}
    assert keys and all(any(k.startswith(t + ":") for t in tags) for k in keys), keys
    slots = {key_slot(k) for k in keys}
    assert slots <= {key_slot(t) for t in tags}
    # Per-job keys live in the partitions, never in the control slot.
    control = [k for k in keys if k.startswith(parted.keys.tag + ":")]
    assert not [k for k in control if ":job:" in k or ":hist:" in k or ":ready:" in k], control


async def test_on_a_cluster_a_script_reaching_outside_its_slot_fails_loudly(
    parted: Store, redis_transport: str
) -> None:
    if redis_transport != "cluster":
        pytest.skip("about Redis Cluster")
    assert all(script_source(name, cluster=True).startswith("#!lua\n") for name in SCRIPT_NAMES)
    assert "'SPUBLISH'" in script_source("submit", cluster=True)
    # A key of another partition's slot: refused, whichever node holds that slot.
    stray = {"stray": "#!lua\nreturn redis.call('GET', ARGV[1])"}
    routes = ClusterRoutes(parted.redis)  # type: ignore[arg-type]
    runner = ClusterScripts(routes, durable=False, sources=stray)
    own, other = parted.parts[0].keys, parted.parts[1].keys
    with pytest.raises(redis.exceptions.ResponseError, match=r"slot|non local"):
        await runner.run("stray", [own.leases()], [other.leases()])
    await runner.aclose()


async def _lease_all(store: Store, workers: int, job_type: str) -> list[Lease]:
    """One dispatch per worker stream (capacity 10 each); the leases they got."""
    got: list[Lease] = []
    for w in range(workers):
        got += (await store.dispatch(f"w{w}", f"s{w}", 10, [job_type])).leases
    return got


async def test_a_concurrency_cap_holds_with_backlog_in_every_partition(parted: Store) -> None:
    # Queued before the limit exists: the type's jobs sit in every partition.
    ids = [f"c{n}" for n in range(60)]
    await parted.submit([new_job(i, job_type="capped") for i in ids])
    assert len({parted.layout.partition_of(i) for i in ids}) == parted.layout.count
    await admin.set_rate_limit(parted, "capped", 0, 0, 3)
    running: list[Lease] = []
    finished = 0
    most = 0
    while finished < 60:
        running += await _lease_all(parted, 4, "capped")
        most = max(most, len(running))
        assert len(running) <= 3, running
        assert running, "the cap stopped all progress"
        done, running = running[:2], running[2:]
        assert await parted.ack([(x.job_id, x.token, "{}") for x in done]) == ["ok"] * len(done)
        finished += len(done)
    assert most == 3


async def test_a_rate_limit_holds_with_backlog_in_every_partition(
    parted: Store, clock: FakeClock
) -> None:
    await parted.submit([new_job(f"r{n}", job_type="paced") for n in range(200)])
    await admin.set_rate_limit(parted, "paced", 5.0, 5, 0)
    per_second: list[int] = []
    for _ in range(8):
        leases = await _lease_all(parted, 3, "paced")
        per_second.append(len(leases))
        await parted.ack([(x.job_id, x.token, "{}") for x in leases])
        clock.advance(1000)
    assert per_second[0] == 5  # the burst
    assert per_second[1:] == [5] * 7  # then the rate, whichever partition holds the jobs


async def test_permits_of_a_lease_that_was_never_answered_come_back(
    parted: Store, clock: FakeClock
) -> None:
    await parted.submit([new_job(f"x{n}", job_type="capped") for n in range(30)])
    await admin.set_rate_limit(parted, "capped", 0, 0, 2)
    held = await _lease_all(parted, 2, "capped")
    assert len(held) == 2
    assert await _lease_all(parted, 2, "capped") == []
    clock.advance(store_lease_ms(parted) + 2_000)  # the worker vanished: leases expire
    await parted.expire_leases()
    again = await _lease_all(parted, 2, "capped")
    assert len(again) == 2


def store_lease_ms(store: Store) -> int:
    return store.settings.default_lease_ms
