"""One call's writes for many jobs go out as one command per key (lua/_batch.lua) and
a dispatch pops its ready lists ahead (lua/_queues.lua `pop_ready`): the state left
behind is exactly what per-job commands left, limits included."""

from __future__ import annotations

import pytest

from gopher_server.store import admin
from gopher_server.store._text import scored
from gopher_server.store.store import Store
from tests.conftest import FakeClock
from tests.store.helpers import new_job


@pytest.mark.one_partition
async def test_popped_ahead_ids_not_taken_go_back_in_order(store: Store) -> None:
    jobs = [new_job(f"a{i}", "a") for i in range(5)] + [new_job(f"b{i}", "b") for i in range(5)]
    await store.submit(jobs)
    leased = [x.job_id for x in (await store.dispatch("w1", "s1", 5, ["a", "b"])).leases]
    # The types take turns; whatever each list did not give stays there, in order.
    assert {i[0] for i in leased[:2]} == {"a", "b"}
    keys = store.keys
    left = {t: await store.redis.lrange(keys.ready("normal", t), 0, -1) for t in "ab"}
    for t in "ab":
        taken = [i for i in leased if i.startswith(t)]
        assert taken + left[t] == [f"{t}{i}" for i in range(5)]


@pytest.mark.one_partition
async def test_a_batch_of_leases_and_acks_leaves_the_indexes_as_one_by_one(
    store: Store, clock: FakeClock
) -> None:
    await store.submit([new_job(f"j{i}") for i in range(30)])
    leases = (await store.dispatch("w1", "s1", 30, ["email"])).leases
    keys, redis = store.keys, store.redis
    assert await redis.zcard(keys.leases()) == 30
    assert await redis.scard(keys.inflight("w1")) == 30
    assert await redis.hget(keys.type_active(), "email") == "30"
    assert {x.job_id: x.deadline_ms for x in leases} == {
        i: int(s) for i, s in scored(await redis.zrange(keys.leases(), 0, -1, withscores=True))
    }
    clock.advance(5)
    codes = await store.ack([(x.job_id, x.token, "{}") for x in leases])
    assert codes == ["ok"] * 30
    assert await redis.zcard(keys.leases()) == 0
    assert await redis.scard(keys.inflight("w1")) == 0
    assert await redis.hexists(keys.type_active(), "email") == 0  # a 0 count is removed
    finished = scored(await redis.zrange(keys.finished(), 0, -1, withscores=True))
    assert sorted(i for i, _ in finished) == sorted(x.job_id for x in leases)
    assert {s for _, s in finished} == {clock.now_ms()}


async def test_a_concurrency_cap_counts_the_leases_of_the_same_call(store: Store) -> None:
    await admin.set_rate_limit(store, "email", 0, 0, 2)
    await store.submit([new_job(f"j{i}") for i in range(6)])
    first = (await store.dispatch("w1", "s1", 10, ["email"])).leases
    assert len(first) == 2
    assert (await store.dispatch("w2", "s2", 10, ["email"])).leases == []
    assert await store.ack([(first[0].job_id, first[0].token, "{}")]) == ["ok"]
    assert len((await store.dispatch("w2", "s2", 10, ["email"])).leases) == 1
