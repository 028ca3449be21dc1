"""Submit at the store level: what one script writes, raw, and idempotency keys."""

from __future__ import annotations

import pytest

from gopher_server.store.store import Store
from tests.conftest import FakeClock
from tests.store.helpers import holders, job_hash, lease_one, new_job, ready_ids


@pytest.mark.one_partition
async def test_batch_writes_hashes_ready_lists_and_type_sets(
    store: Store, clock: FakeClock
) -> None:
    results = await store.submit(
        [new_job("a", "email", "high"), new_job("b", "email", "high"), new_job("c", "sms", "low")]
    )
    assert [(r.job_id, r.state, r.duplicate) for r in results] == [
        ("a", "enqueued", False),
        ("b", "enqueued", False),
        ("c", "enqueued", False),
    ]
    fields = await job_hash(store, "a")
    assert fields == {
        "type": "email",
        "prio": "high",
        "payload": "{}",
        "created": str(clock.now_ms()),
        "state": "enqueued",  # no "ready": ready at creation reads as "created"
        "hn": "0",  # its history, kept in this hash, has no entry yet
    }  # no "retries": 3 is left out (see store/job_hash.py)
    assert await ready_ids(store, "high", "email") == ["a", "b"]
    assert await ready_ids(store, "low", "sms") == ["c"]
    keys = store.keys
    assert await store.redis.smembers(keys.ready_types("high")) == {"email"}
    assert await store.redis.smembers(keys.ready_types("low")) == {"sms"}
    assert await store.redis.smembers(keys.known_types()) == {"email", "sms"}
    assert await store.redis.pttl(keys.job("a")) == -1  # queued jobs never expire


@pytest.mark.one_partition
async def test_optional_fields_are_stored_only_when_set(store: Store) -> None:
    await store.submit(
        [
            new_job(
                "opt",
                idempotency_key="k",
                timeout_ms=1500,
                lease_ms=2500,
                backoff_base_ms=100,
                backoff_factor=3.0,
                backoff_max_ms=900,
                trace='{"traceparent":"x"}',
            ),
            new_job("bare"),
        ]
    )
    opt = await job_hash(store, "opt")
    assert {k: opt[k] for k in ("idem", "timeout_ms", "lease_ms", "trace")} == {
        "idem": "k",
        "timeout_ms": "1500",
        "lease_ms": "2500",
        "trace": '{"traceparent":"x"}',
    }
    assert (opt["bo_base"], float(opt["bo_factor"]), opt["bo_max"]) == ("100", 3.0, "900")
    bare = await job_hash(store, "bare")
    for name in ("idem", "timeout_ms", "lease_ms", "bo_base", "bo_factor", "bo_max", "trace"):
        assert name not in bare


async def test_zero_backoff_policy_is_stored_not_replaced_by_the_default(store: Store) -> None:
    # A retry policy of base 0 (retry at once) or max 0 is a real choice, unlike
    # timeout 0 / lease 0 which mean "default"; it must survive the submit.
    await store.submit([new_job("z", backoff_base_ms=0, backoff_max_ms=0)])
    fields = await job_hash(store, "z")
    assert (fields.get("bo_base"), fields.get("bo_max")) == ("0", "0")


@pytest.mark.one_partition
async def test_future_run_at_is_scheduled_past_run_at_is_ready(
    store: Store, clock: FakeClock
) -> None:
    now = clock.now_ms()
    results = await store.submit(
        [
            new_job("later", run_at_ms=now + 5000),
            new_job("past", run_at_ms=now - 5000),
            new_job("exact", run_at_ms=now),
        ]
    )
    assert [r.state for r in results] == ["scheduled", "enqueued", "enqueued"]
    assert await store.redis.zscore(store.job_keys("later").scheduled(), "later") == now + 5000
    assert (await job_hash(store, "later"))["run_at"] == str(now + 5000)
    assert await holders(store, "later") == [store.job_keys("later").scheduled()]
    assert await ready_ids(store, "normal", "email") == ["past", "exact"]


@pytest.mark.one_partition
async def test_idempotency_key_returns_the_first_job_and_its_current_state(
    store: Store,
) -> None:
    (first,) = await store.submit([new_job("one", idempotency_key="order-1")])
    idem = store.keys.idempotency("order-1")
    assert await store.redis.get(idem) == "one"
    ttl = await store.redis.pttl(idem)
    assert store.settings.idempotency_ttl_ms - 5000 < ttl <= store.settings.idempotency_ttl_ms
    await lease_one(store)
    (again,) = await store.submit([new_job("two", idempotency_key="order-1")])
    assert (again.job_id, again.state, again.duplicate) == ("one", "active", True)
    assert await store.redis.exists(store.job_keys("two").job("two")) == 0
    assert first.duplicate is False


@pytest.mark.one_partition
async def test_idempotency_key_dedupes_inside_one_batch(store: Store) -> None:
    results = await store.submit(
        [new_job("x", idempotency_key="k"), new_job("y", idempotency_key="k"), new_job("z")]
    )
    assert [(r.job_id, r.duplicate) for r in results] == [("x", False), ("x", True), ("z", False)]
    assert await ready_ids(store, "normal", "email") == ["x", "z"]
    assert await store.redis.exists(store.job_keys("y").job("y")) == 0


@pytest.mark.one_partition
async def test_idempotency_key_zero_is_recorded_on_the_job(store: Store) -> None:
    await store.submit([new_job("j", idempotency_key="0")])
    assert (await job_hash(store, "j")).get("idem") == "0"
    (again,) = await store.submit([new_job("k", idempotency_key="0")])
    assert (again.job_id, again.duplicate) == ("j", True)
