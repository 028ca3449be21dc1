"""Lost leases: expiry and closed streams count the attempt, requeue at the front,
record why, and dead-letter a job with no retries left."""

from __future__ import annotations

import pytest

from gopher_server.store import workers as registry
from gopher_server.store.store import Store
from tests.conftest import FakeClock
from tests.store.helpers import history, holders, job_hash, lease_one, new_job, ready_ids

LEASE_MS = 30_000


@pytest.mark.one_partition
async def test_expired_lease_goes_to_the_front_with_the_attempt_counted(
    store: Store, clock: FakeClock
) -> None:
    await store.submit([new_job("first"), new_job("second"), new_job("third")])
    lease = await lease_one(store, "w1")
    assert lease.job_id == "first"
    clock.advance(LEASE_MS - 1)
    assert await store.expire_leases() == []
    assert (await job_hash(store, "first"))["state"] == "active"
    clock.advance(1)
    assert await store.expire_leases() == [("first", "enqueued")]
    fields = await job_hash(store, "first")
    assert (fields["state"], fields["attempt"]) == ("enqueued", "1")
    assert "deadline" not in fields and "sid" not in fields
    assert fields["last_error"].startswith("LeaseExpired: ")
    assert await ready_ids(store, "normal", "email") == ["first", "second", "third"]
    assert await holders(store, "first") == [store.job_keys("first").ready("normal", "email")]
    assert await store.redis.scard(store.keys.inflight("w1")) == 0
    assert await store.redis.hgetall(store.keys.type_active()) == {}
    events = await history(store, "first")
    assert events
    event = events[-1]
    assert {k: event[k] for k in ("f", "s", "a", "w", "et")} == {
        "f": "active",
        "s": "enqueued",
        "a": 1,
        "w": "w1",
        "et": "LeaseExpired",
    }
    assert event["t"] == str(clock.now_ms())
    again = await lease_one(store, "w2")
    assert (again.job_id, again.attempt) == ("first", 2)


async def test_expired_lease_with_no_retries_left_goes_to_the_dlq(
    store: Store, clock: FakeClock
) -> None:
    await store.submit([new_job("j", retries=1)])
    await lease_one(store, "w1")
    clock.advance(LEASE_MS)
    assert await store.expire_leases() == [("j", "enqueued")]
    await lease_one(store, "w2")  # w1 let a lease expire: it is held back for a while
    clock.advance(LEASE_MS)
    assert await store.expire_leases() == [("j", "dead")]
    fields = await job_hash(store, "j")
    assert (fields["state"], fields["attempt"], fields["finished"]) == (
        "dead",
        "2",
        str(clock.now_ms()),
    )
    assert fields["last_error"].startswith("LeaseExpired: ")
    assert await holders(store, "j") == [store.job_keys("j").dead()]
    assert await store.redis.zscore(store.job_keys("j").dead(), "j") == clock.now_ms()
    assert await store.redis.pttl(store.job_keys("j").job("j")) == -1


async def test_zero_retries_dies_on_the_first_expiry(store: Store, clock: FakeClock) -> None:
    await store.submit([new_job("j", retries=0)])
    await lease_one(store)
    clock.advance(LEASE_MS)
    assert await store.expire_leases() == [("j", "dead")]


@pytest.mark.one_partition
async def test_expiry_is_bounded_per_call(store: Store, clock: FakeClock) -> None:
    await store.submit([new_job(f"j{n}") for n in range(7)])
    await store.dispatch("w1", "s1", 7, ["email"])
    clock.advance(LEASE_MS)
    assert len(await store.expire_leases(limit=3)) == 3
    assert len(await store.expire_leases(limit=3)) == 3
    assert len(await store.expire_leases(limit=3)) == 1
    assert await store.redis.zcard(store.keys.leases()) == 0


@pytest.mark.one_partition
async def test_release_recovers_only_the_closed_sessions_jobs(
    store: Store, clock: FakeClock
) -> None:
    await store.submit([new_job(f"j{n}") for n in range(4)] + [new_job("other", "sms")])
    s1 = (await store.dispatch("w1", "s1", 2, ["email"])).leases
    s2 = (await store.dispatch("w1", "s2", 3, ["email"])).leases
    w2 = (await store.dispatch("w2", "s1", 1, ["sms"])).leases
    assert (len(s1), len(s2), len(w2)) == (2, 1, 1)
    released = await store.release("w1", "s1")
    assert sorted(released) == sorted((x.job_id, "enqueued") for x in s1)
    ready = await ready_ids(store, "normal", "email")
    assert set(ready[:2]) == {x.job_id for x in s1} and ready[2:] == ["j3"]
    assert await store.redis.smembers(store.keys.inflight("w1")) == {s2[0].job_id}
    assert await store.redis.zrange(store.keys.leases(), 0, -1) == sorted([s2[0].job_id, "other"])
    for lease in s1:
        fields = await job_hash(store, lease.job_id)
        assert (fields["state"], fields["attempt"]) == ("enqueued", "1")
        assert fields["last_error"].startswith("WorkerLost: ")
    assert (await job_hash(store, s2[0].job_id))["state"] == "active"
    assert await store.release("w1", "s1") == []
    assert await store.release("w9", "s1") == []


async def test_release_sends_a_job_with_no_retries_left_to_the_dlq(store: Store) -> None:
    await store.submit([new_job("j", retries=0)])
    await lease_one(store, "w1", "s1")
    assert await store.release("w1", "s1") == [("j", "dead")]
    assert await holders(store, "j") == [store.job_keys("j").dead()]


async def test_release_leaves_a_job_re_leased_to_another_session(
    store: Store, clock: FakeClock
) -> None:
    await store.submit([new_job("j")])
    await lease_one(store, "w1", "s1")
    clock.advance(LEASE_MS)
    await store.expire_leases()
    # A new stream is a sign of life: it lifts the hold the expiry put on w1.
    await registry.register_stream(
        store, "w1", "s2", hostname="h", pid=1, job_types=["email"], capacity=1
    )
    again = await lease_one(store, "w1", "s2")
    assert await store.release("w1", "s1") == []
    assert await store.ack([("j", again.token, "{}")]) == ["ok"]


async def _open_stream(store: Store, worker: str, session: str) -> None:
    await registry.register_stream(
        store, worker, session, hostname="h", pid=1, job_types=["email"], capacity=1
    )


@pytest.mark.one_partition
async def test_a_lease_expiring_on_a_live_only_stream_holds_the_hung_worker(
    store: Store, clock: FakeClock
) -> None:
    await _open_stream(store, "w1", "s1")
    await store.submit([new_job("j1", lease_ms=2_000), new_job("j2")])
    await lease_one(store, "w1", "s1")
    clock.advance(2_000)  # s1 still heartbeats: the worker is there but silent
    assert await store.expire_leases() == [("j1", "enqueued")]
    held = await store.dispatch("w1", "s1", 2, ["email"])
    assert held.leases == [] and held.wait_ms > 0


async def test_a_worker_that_reconnected_is_not_held_for_a_lease_lost_with_its_old_stream(
    store: Store, clock: FakeClock
) -> None:
    # The lease went out on s1, whose broker then died; the worker reconnected (s2)
    # before the short lease expired, while s1's last heartbeat still looks recent.
    await _open_stream(store, "w1", "s1")
    await store.submit([new_job("j", lease_ms=2_000)])
    await lease_one(store, "w1", "s1")
    clock.advance(500)
    await _open_stream(store, "w1", "s2")
    clock.advance(2_000)
    assert await store.expire_leases() == [("j", "enqueued")]
    again = await store.dispatch("w1", "s2", 1, ["email"])
    assert [x.job_id for x in again.leases] == ["j"]
