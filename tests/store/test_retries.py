"""Failures: exponential backoff with jitter, per-job policies, retry-after, permanent
errors, handbacks, and the error history each attempt leaves."""

from __future__ import annotations

import math
from typing import Any

import pytest

from gopher_server.store.records import NackItem
from gopher_server.store.store import Store
from tests.conftest import FakeClock
from tests.store.helpers import history, holders, job_hash, lease_one, new_job, ready_ids


def expected_cap(attempt: int, base: int = 1000, factor: float = 2.0, cap: int = 3_600_000) -> int:
    """The backoff before jitter: min(max, base * factor^(attempt-1))."""
    return int(min(cap, base * factor ** (attempt - 1)))


async def fail(store: Store, job_id: str, token: int, **kw: Any) -> str:
    """Nack one delivery with a generic error; return the code."""
    (code,) = await store.nack([NackItem(job_id, token, "ValueError", "boom", "tb", **kw)])
    return code


async def retry_delay(store: Store, clock: FakeClock, job_id: str) -> int:
    score = await store.redis.zscore(store.job_keys(job_id).retrying(), job_id)
    assert score is not None
    return int(score) - clock.now_ms()


async def test_backoff_is_jittered_between_half_and_full_delay(
    store: Store, clock: FakeClock
) -> None:
    ids = [f"j{n}" for n in range(20)]
    await store.submit([new_job(i, retries=8) for i in ids])
    for attempt in range(1, 8):
        leases = (await store.dispatch("w1", "s1", 20, ["email"])).leases
        assert {x.attempt for x in leases} == {attempt} and len(leases) == 20
        codes = await store.nack([NackItem(x.job_id, x.token, "E", "m") for x in leases])
        assert codes == ["retrying"] * 20
        full = expected_cap(attempt)
        delays = [await retry_delay(store, clock, i) for i in ids]
        assert all(full // 2 <= d <= full for d in delays), (attempt, delays)
        assert len(set(delays)) > 1  # jitter spreads a burst of failures
        clock.advance(full)
        assert await store.promote_due() == 20


@pytest.mark.parametrize("jitter", [0.0, 0.5, 0.999999])
async def test_backoff_formula_is_exact_for_a_given_jitter(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, jitter: float
) -> None:
    monkeypatch.setattr("gopher_server.store.store.random.random", lambda: jitter)
    await store.submit([new_job("j", retries=30)])
    for attempt in (1, 2, 3, 10, 20, 25):
        await store.redis.hset(store.job_keys("j").job("j"), "attempt", attempt - 1)
        lease = await lease_one(store)
        assert await fail(store, "j", lease.token) == "retrying"
        want = math.floor(expected_cap(attempt) * (0.5 + 0.5 * jitter))
        assert await retry_delay(store, clock, "j") == want, attempt
        clock.advance(want)
        await store.promote_due()


async def test_per_job_backoff_policy_overrides_the_default(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gopher_server.store.store.random.random", lambda: 0.0)
    await store.submit(
        [new_job("j", retries=5, backoff_base_ms=200, backoff_factor=3.0, backoff_max_ms=1000)]
    )
    seen = []
    for _ in range(4):
        lease = await lease_one(store)
        await fail(store, "j", lease.token)
        seen.append(await retry_delay(store, clock, "j"))
        clock.advance(seen[-1])
        assert await store.promote_due() == 1
    assert seen == [100, 300, 500, 500]  # 200, 600, min(1000, 1800), 1000; halved


async def test_zero_backoff_base_retries_at_once(store: Store, clock: FakeClock) -> None:
    await store.submit([new_job("j", backoff_base_ms=0)])
    lease = await lease_one(store)
    assert await fail(store, "j", lease.token) == "retrying"
    assert await retry_delay(store, clock, "j") == 0
    assert await store.promote_due() == 1


async def test_retry_after_is_honoured_exactly(store: Store, clock: FakeClock) -> None:
    await store.submit([new_job("a"), new_job("b")])
    la, lb = (await store.dispatch("w1", "s1", 2, ["email"])).leases
    assert await fail(store, la.job_id, la.token, retry_after_ms=12_345) == "retrying"
    assert await fail(store, lb.job_id, lb.token, retry_after_ms=0) == "retrying"
    assert await retry_delay(store, clock, la.job_id) == 12_345
    assert await retry_delay(store, clock, lb.job_id) == 0
    assert (await job_hash(store, la.job_id))["run_at"] == str(clock.now_ms() + 12_345)
    assert await store.promote_due() == 1
    clock.advance(12_344)
    assert await store.promote_due() == 0
    clock.advance(1)
    assert await store.promote_due() == 1


async def test_retrying_job_returns_to_the_back_of_its_queue(
    store: Store, clock: FakeClock
) -> None:
    await store.submit([new_job("a"), new_job("b")])
    lease = await lease_one(store)  # "a" on one partition; either across several
    failed, other = lease.job_id, ({"a", "b"} - {lease.job_id}).pop()
    await fail(store, failed, lease.token, retry_after_ms=10)
    assert await holders(store, failed) == [store.job_keys(failed).retrying()]
    assert (await store.dispatch("w1", "s1", 5, ["email"])).leases[0].job_id == other
    clock.advance(10)
    await store.promote_due()
    fields = await job_hash(store, failed)
    assert (fields["state"], fields["attempt"]) == ("enqueued", "1")
    assert await ready_ids(store, "normal", "email") == [failed]


async def test_non_retryable_failure_is_dead_at_once(store: Store, clock: FakeClock) -> None:
    await store.submit([new_job("j", retries=10)])
    lease = await lease_one(store)
    assert await fail(store, "j", lease.token, non_retryable=True) == "dead"
    fields = await job_hash(store, "j")
    assert (fields["state"], fields["attempt"], fields["last_error"]) == (
        "dead",
        "1",
        "ValueError: boom",
    )
    assert await holders(store, "j") == [store.job_keys("j").dead()]
    assert await store.redis.zscore(store.job_keys("j").dead(), "j") == clock.now_ms()


async def test_failure_with_no_retries_left_is_dead(store: Store, clock: FakeClock) -> None:
    await store.submit([new_job("j", retries=2)])
    codes = []
    for _ in range(3):
        lease = await lease_one(store)
        codes.append(await fail(store, "j", lease.token, retry_after_ms=0))
        await store.promote_due()
    assert codes == ["retrying", "retrying", "dead"]
    assert (await job_hash(store, "j"))["attempt"] == "3"


@pytest.mark.one_partition
async def test_handback_goes_to_the_front_without_counting_the_attempt(store: Store) -> None:
    await store.submit([new_job("a", retries=0), new_job("b"), new_job("c")])
    for n in range(5):
        lease = await lease_one(store, f"w{n}")  # a worker handing back may be draining
        assert (lease.job_id, lease.attempt) == ("a", 1)
        assert await fail(store, "a", lease.token, handback=True) == "enqueued"
        assert await ready_ids(store, "normal", "email") == ["a", "b", "c"]
        fields = await job_hash(store, "a")
        assert (fields["state"], fields["attempt"]) == ("enqueued", "0")
        assert "last_error" not in fields
    events = await history(store, "a")
    assert events
    assert all("et" not in e for e in events)


async def test_each_failure_is_kept_in_the_history(store: Store, clock: FakeClock) -> None:
    await store.submit([new_job("j", retries=3)])
    for n, worker in enumerate(("w1", "w2"), start=1):
        lease = await lease_one(store, worker)
        (code,) = await store.nack(
            [NackItem("j", lease.token, "IOError", f"disk {n}", f"Traceback {n}", retry_after_ms=0)]
        )
        assert code == "retrying"
        await store.promote_due()
    lease = await lease_one(store, "w3")
    await store.ack([("j", lease.token, "{}")])
    events = await history(store, "j")
    assert events
    errors = [(e["a"], e["w"], e["et"], e["em"], e["tb"]) for e in events if "et" in e]
    assert errors == [
        (1, "w1", "IOError", "disk 1", "Traceback 1"),
        (2, "w2", "IOError", "disk 2", "Traceback 2"),
    ]
    path = [(e["f"], e["s"]) for e in events]
    assert path == [
        ("enqueued", "active"),
        ("active", "retrying"),
        ("retrying", "enqueued"),
        ("enqueued", "active"),
        ("active", "retrying"),
        ("retrying", "enqueued"),
        ("enqueued", "active"),
        ("active", "succeeded"),
    ]
