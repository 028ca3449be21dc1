"""Routing by job type, fairness between types of one priority, and slot accounting."""

from __future__ import annotations

import pytest

from gopher_server.store.store import Store
from tests.store.helpers import new_job, ready_ids, submit_many


async def test_worker_receives_only_its_registered_types(store: Store) -> None:
    await submit_many(store, 5, "a", job_type="alpha")
    await submit_many(store, 5, "b", job_type="beta")
    await submit_many(store, 5, "c", job_type="gamma", priority="high")
    result = await store.dispatch("w1", "s1", 100, ["beta"])
    assert sorted(lease.job_id for lease in result.leases) == [f"b-{n}" for n in range(5)]
    assert {lease.type for lease in result.leases} == {"beta"}
    assert (await store.dispatch("w2", "s1", 100, ["delta"])).leases == []
    assert (await store.dispatch("w3", "s1", 100, [])).leases == []
    assert len(await ready_ids(store, "normal", "alpha")) == 5
    assert len(await ready_ids(store, "high", "gamma")) == 5


async def test_worker_with_several_types_gets_them_all(store: Store) -> None:
    await submit_many(store, 3, "a", job_type="alpha")
    await submit_many(store, 3, "g", job_type="gamma", priority="low")
    result = await store.dispatch("w1", "s1", 10, ["alpha", "gamma"])
    assert {lease.job_id for lease in result.leases} == {f"a-{n}" for n in range(3)} | {
        f"g-{n}" for n in range(3)
    }


async def test_small_type_is_not_starved_by_a_flood_one_at_a_time(store: Store) -> None:
    await submit_many(store, 1000, "a", job_type="flood")
    await submit_many(store, 10, "b", job_type="trickle")
    served: list[str] = []
    # One partition alternates the types exactly: all 10 in 20 dispatches. Several
    # alternate within each partition and a dispatch starts at a random one, so the
    # trickle's wait is bounded (about 40 here), not exact; the flood is far from dry.
    bound = 20 if store.single else 200
    while served.count("trickle") < 10 and len(served) < bound:
        (lease,) = (await store.dispatch("w1", "s1", 1, ["flood", "trickle"])).leases
        await store.ack([(lease.job_id, lease.token, "{}")])
        served.append(lease.type)
    assert served.count("trickle") == 10, len(served)
    assert await ready_ids(store, "normal", "trickle") == []


@pytest.mark.one_partition  # across partitions: a bounded wait, not one call (cluster tests)
async def test_small_type_is_not_starved_by_a_flood_in_one_batch(store: Store) -> None:
    await submit_many(store, 1000, "a", job_type="flood")
    await submit_many(store, 10, "b", job_type="trickle")
    result = await store.dispatch("w1", "s1", 20, ["flood", "trickle"])
    assert [lease.type for lease in result.leases].count("trickle") == 10


@pytest.mark.one_partition  # across partitions the rotation is per partition: 8/11/11
async def test_fairness_rotates_over_three_types(store: Store) -> None:
    for name in ("x", "y", "z"):
        await submit_many(store, 100, name, job_type=name)
    result = await store.dispatch("w1", "s1", 30, ["x", "y", "z"])
    counts = {t: [lease.type for lease in result.leases].count(t) for t in "xyz"}
    assert counts == {"x": 10, "y": 10, "z": 10}


@pytest.mark.one_partition
async def test_dispatch_never_exceeds_free_capacity(store: Store) -> None:
    await submit_many(store, 50, "j")
    inflight = store.keys.inflight("w1")
    first = await store.dispatch("w1", "s1", 3, ["email"])
    assert len(first.leases) == 3
    assert (await store.dispatch("w1", "s1", 3, ["email"])).leases == []
    assert await store.redis.scard(inflight) == 3
    lease = first.leases[0]
    assert await store.ack([(lease.job_id, lease.token, "{}")]) == ["ok"]
    assert len((await store.dispatch("w1", "s1", 3, ["email"])).leases) == 1
    assert await store.redis.scard(inflight) == 3
    # A raised capacity only adds the difference; a lowered one leases nothing.
    assert len((await store.dispatch("w1", "s1", 5, ["email"])).leases) == 2
    assert (await store.dispatch("w1", "s1", 2, ["email"])).leases == []
    assert (await store.dispatch("w1", "s1", 0, ["email"])).leases == []
    assert await store.redis.scard(inflight) == 5


@pytest.mark.one_partition
async def test_capacity_is_shared_by_all_sessions_of_a_worker(store: Store) -> None:
    await submit_many(store, 20, "j")
    s1 = await store.dispatch("w1", "s1", 4, ["email"])
    assert len(s1.leases) == 4
    assert (await store.dispatch("w1", "s2", 4, ["email"])).leases == []
    lease = s1.leases[0]
    await store.ack([(lease.job_id, lease.token, "{}")])
    s2 = await store.dispatch("w1", "s2", 4, ["email"])
    assert len(s2.leases) == 1
    assert await store.redis.scard(store.keys.inflight("w1")) == 4
    sessions = {
        (await store.redis.hget(store.job_keys(x.job_id).job(x.job_id), "sid"))
        for x in s1.leases[1:] + s2.leases
    }
    assert sessions == {"s1", "s2"}
    # Another worker id has its own slots.
    assert len((await store.dispatch("w2", "s1", 4, ["email"])).leases) == 4


@pytest.mark.one_partition
async def test_per_type_active_count_tracks_leases(store: Store) -> None:
    await store.submit([new_job("a1", "alpha"), new_job("a2", "alpha"), new_job("b1", "beta")])
    result = await store.dispatch("w1", "s1", 3, ["alpha", "beta"])
    assert await store.redis.hgetall(store.keys.type_active()) == {"alpha": "2", "beta": "1"}
    await store.ack([(lease.job_id, lease.token, "{}") for lease in result.leases])
    assert await store.redis.hgetall(store.keys.type_active()) == {}
