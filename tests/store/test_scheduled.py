"""Scheduled jobs: held in the scheduled zset until the clock reaches run_at, then
promoted in bounded steps so a large due backlog never blocks dispatch."""

from __future__ import annotations

import pytest

from gopher_server.store.store import Store
from tests.conftest import FakeClock
from tests.store.helpers import history, holders, job_hash, new_job, ready_ids


async def test_future_job_waits_in_the_scheduled_set_until_run_at(
    store: Store, clock: FakeClock
) -> None:
    run_at = clock.now_ms() + 60_000
    (result,) = await store.submit([new_job("later", run_at_ms=run_at)])
    assert result.state == "scheduled"
    assert await store.redis.zscore(store.job_keys("later").scheduled(), "later") == run_at
    assert await holders(store, "later") == [store.job_keys("later").scheduled()]
    assert (await store.dispatch("w1", "s1", 5, ["email"])).leases == []
    assert await store.promote_due() == 0
    clock.advance(59_999)
    assert await store.promote_due() == 0
    assert (await job_hash(store, "later"))["state"] == "scheduled"
    clock.advance(1)
    assert await store.promote_due() == 1
    fields = await job_hash(store, "later")
    assert (fields["state"], fields["ready"]) == ("enqueued", str(run_at))
    assert await holders(store, "later") == [store.job_keys("later").ready("normal", "email")]
    events = await history(store, "later")
    assert events and (events[-1]["f"], events[-1]["s"]) == (
        "scheduled",
        "enqueued",
    )
    (lease,) = (await store.dispatch("w1", "s1", 5, ["email"])).leases
    assert (lease.job_id, lease.attempt) == ("later", 1)


@pytest.mark.one_partition
async def test_promotion_goes_behind_jobs_already_waiting(store: Store, clock: FakeClock) -> None:
    now = clock.now_ms()
    await store.submit(
        [new_job("b", run_at_ms=now + 2000), new_job("a", run_at_ms=now + 1000), new_job("n")]
    )
    clock.advance(2000)
    assert await store.promote_due() == 2
    assert await ready_ids(store, "normal", "email") == ["n", "a", "b"]


@pytest.mark.one_partition
async def test_promotion_is_bounded_and_dispatch_runs_between_steps(
    store: Store, clock: FakeClock
) -> None:
    run_at = clock.now_ms() + 1000
    for start in range(0, 5000, 1000):
        await store.submit(
            [new_job(f"s{n}", run_at_ms=run_at + n) for n in range(start, start + 1000)]
        )
    clock.advance(10_000)
    steps = []
    leased = []
    while moved := await store.promote_due(limit=1200):
        steps.append(moved)
        (lease,) = (await store.dispatch("w1", "s1", 1, ["email"])).leases
        leased.append(lease.job_id)
        await store.ack([(lease.job_id, lease.token, "{}")])
    assert steps == [1200, 1200, 1200, 1200, 200]
    assert leased == ["s0", "s1", "s2", "s3", "s4"]  # promoted in run_at order
    assert await store.redis.zcard(store.keys.scheduled()) == 0
    assert await store.redis.llen(store.keys.ready("normal", "email")) == 4995


async def test_cancelled_scheduled_job_is_never_promoted(store: Store, clock: FakeClock) -> None:
    await store.submit([new_job("later", run_at_ms=clock.now_ms() + 1000)])
    assert await store.cancel("later") == ("cancelled", True)
    assert await holders(store, "later") == [store.job_keys("later").finished()]
    clock.advance(1000)
    assert await store.promote_due() == 0
    assert (await job_hash(store, "later"))["state"] == "cancelled"
