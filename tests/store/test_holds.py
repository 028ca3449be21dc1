"""Worker holds (`{prefix}:holds`) are pruned by the janitor once they cannot matter."""

from __future__ import annotations

import pytest

from gopher_server.components.janitor import Janitor
from gopher_server.store import workers as registry
from gopher_server.store.records import NackItem
from gopher_server.store.store import Store
from tests.conftest import FakeClock
from tests.store.helpers import lease_one, submit_many

WORKERS = 20


def janitor(store: Store) -> Janitor:
    """A janitor with retention limits that never trim anything in these tests."""
    return Janitor(store, 60, dead_retention_ms=10**12, dead_max_jobs=10**6)


async def connect(store: Store, worker_id: str) -> None:
    await registry.register_stream(
        store, worker_id, f"{worker_id}-s", hostname="h", pid=1, job_types=["email"], capacity=1
    )


async def drain_with_handback(store: Store, worker_id: str) -> None:
    """What a draining worker does: hand its buffered job back, as draining."""
    lease = await lease_one(store, worker_id, f"{worker_id}-s")
    await store.nack([NackItem(lease.job_id, lease.token, handback=True, draining=True)])


async def exit_stream(store: Store, worker_id: str) -> None:
    """What the broker does when the worker's stream closes."""
    await store.release(worker_id, f"{worker_id}-s")
    await registry.unregister_stream(store, worker_id, f"{worker_id}-s")


@pytest.mark.one_partition
async def test_holds_of_workers_that_drained_and_exited_are_gone_after_a_janitor_pass(
    store: Store, clock: FakeClock
) -> None:
    await submit_many(store, WORKERS, "j")
    ids = [f"w{n}" for n in range(WORKERS)]
    for worker_id in ids:
        await connect(store, worker_id)
        await drain_with_handback(store, worker_id)
    assert sorted(await store.redis.hkeys(store.keys.worker_holds())) == sorted(ids)
    for worker_id in ids:
        await exit_stream(store, worker_id)
    clock.advance(1000)  # well inside the hold time: only the workers' absence counts

    await janitor(store)._tick()

    assert await store.redis.hgetall(store.keys.worker_holds()) == {}


@pytest.mark.one_partition
async def test_a_pass_keeps_the_holds_of_workers_still_there(
    store: Store, clock: FakeClock
) -> None:
    await submit_many(store, 3, "j")
    for worker_id in ("draining", "gone"):
        await connect(store, worker_id)
        await drain_with_handback(store, worker_id)
    await exit_stream(store, "gone")
    clock.advance(1000)
    await registry.heartbeat(store, [("draining", "draining-s")])

    await janitor(store)._tick()

    holds = await store.redis.hgetall(store.keys.worker_holds())
    assert list(holds) == ["draining"]  # still connected, still held back
    assert (await store.dispatch("draining", "draining-s", 1, ["email"])).leases == []


async def test_a_hold_whose_time_is_over_is_pruned_and_dispatch_is_unchanged(
    store: Store, clock: FakeClock
) -> None:
    await submit_many(store, 2, "j")
    await connect(store, "w")
    await drain_with_handback(store, "w")
    clock.advance(store.settings.hold_ms + 1)
    await registry.heartbeat(store, [("w", "w-s")])

    await janitor(store)._tick()

    assert await store.redis.hgetall(store.keys.worker_holds()) == {}
    assert len((await store.dispatch("w", "w-s", 1, ["email"])).leases) == 1


async def test_a_stream_gone_silent_counts_as_gone(store: Store, clock: FakeClock) -> None:
    await submit_many(store, 1, "j")
    await connect(store, "w")
    await drain_with_handback(store, "w")
    # Its broker died with the stream open: no close, no heartbeat since.
    clock.advance(store.settings.stream_fresh_ms + 1)

    await janitor(store)._tick()

    assert await store.redis.hgetall(store.keys.worker_holds()) == {}
