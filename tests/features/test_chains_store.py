"""Chains at the store: follow-ups are created by the parent's transition itself,
exactly once, with the parent's outcome spliced into their payload."""

from __future__ import annotations

import orjson

from gopher_server.store.records import NackItem, NewJob
from gopher_server.store.store import Store
from tests.conftest import FakeClock
from tests.store.helpers import lease_one, new_job, stored_fields


def follow_up(job_id: str, job_type: str, payload: str = "{}", **extra: object) -> NewJob:
    """A validated follow-up job."""
    return NewJob(id=job_id, type=job_type, priority="normal", payload=payload, retries=3, **extra)  # type: ignore[arg-type]


async def ready_ids(store: Store, job_type: str, priority: str = "normal") -> list[str]:
    return [str(i) for i in await store.redis.lrange(store.keys.ready(priority, job_type), 0, -1)]


async def test_success_submits_on_success_once_with_the_result(store: Store) -> None:
    notify = follow_up("c1", "notify", '{ "user": "u1", "tags": [], "big": 12345678901234567890 }')
    alert = follow_up("c2", "alert")
    await store.submit([new_job("p1", "video", on_success=(notify,), on_failure=(alert,))])
    lease = await lease_one(store, types=("video",))
    result = '{"url": "s3://x/1.mp4", "frames": [], "n": 1.5e300}'
    assert await store.ack([("p1", lease.token, result)]) == ["ok"]

    child = await stored_fields(store, "c1")
    assert child["state"] == "enqueued" and child["parent"] == "p1"
    # The payload keeps its own bytes (no JSON round trip) with "parent" first.
    assert child["payload"] == (
        '{"parent":{"id":"p1","type":"video","state":"succeeded","result":'
        + result
        + '},"user": "u1", "tags": [], "big": 12345678901234567890 }'
    )
    assert orjson.loads(child["payload"])["parent"]["result"]["url"] == "s3://x/1.mp4"
    assert (await stored_fields(store, "p1"))["follow_ups"] == "c1"
    assert await stored_fields(store, "c2") == {}  # the failure branch never ran

    # A repeated ack (e.g. a retried RPC) is stale and creates nothing more.
    assert await store.ack([("p1", lease.token, result)]) == ["stale"]
    assert await ready_ids(store, "notify") == ["c1"]


async def test_death_submits_on_failure_with_the_error(store: Store) -> None:
    await store.submit(
        [
            new_job(
                "p1",
                "video",
                retries=0,
                on_success=(follow_up("ok1", "notify"),),
                on_failure=(follow_up("bad1", "alert", '{"team": "video"}'),),
            )
        ]
    )
    lease = await lease_one(store, types=("video",))
    item = NackItem("p1", lease.token, "ValueError", 'bad "codec"', non_retryable=True)
    assert await store.nack([item]) == ["dead"]
    child = await stored_fields(store, "bad1")
    assert orjson.loads(child["payload"]) == {
        "parent": {
            "id": "p1",
            "type": "video",
            "state": "dead",
            "error": 'ValueError: bad "codec"',
        },
        "team": "video",
    }
    assert await stored_fields(store, "ok1") == {}
    assert (await stored_fields(store, "p1"))["follow_ups"] == "bad1"


async def test_lease_expiry_that_kills_a_job_submits_on_failure(
    store: Store, clock: FakeClock
) -> None:
    await store.submit([new_job("p1", retries=0, on_failure=(follow_up("f1", "alert"),))])
    await lease_one(store)
    clock.advance(store.settings.default_lease_ms + 1)
    assert await store.expire_leases() == [("p1", "dead")]
    assert (await stored_fields(store, "f1"))["state"] == "enqueued"


async def test_cancelled_and_retrying_jobs_submit_nothing(store: Store) -> None:
    await store.submit([new_job("p1", on_failure=(follow_up("f1", "alert"),))])
    lease = await lease_one(store)
    assert await store.nack([NackItem("p1", lease.token, "E", "x")]) == ["retrying"]
    assert await stored_fields(store, "f1") == {}
    await store.cancel("p1")
    assert await stored_fields(store, "f1") == {}


async def test_nested_follow_ups_delay_and_inherited_trace(store: Store, clock: FakeClock) -> None:
    third = follow_up("c3", "archive")
    second = follow_up("c2", "notify", delay_ms=5_000, on_success=(third,))
    await store.submit(
        [new_job("p1", "video", trace='{"traceparent": "00-abc-def-01"}', on_success=(second,))]
    )
    lease = await lease_one(store, types=("video",))
    await store.ack([("p1", lease.token, "null")])
    c2 = await stored_fields(store, "c2")
    assert c2["state"] == "scheduled" and int(c2["run_at"]) == clock.ms + 5_000
    assert c2["trace"] == '{"traceparent": "00-abc-def-01"}'
    assert orjson.loads(c2["payload"])["parent"]["result"] is None

    clock.advance(5_000)
    assert await store.promote_due() == 1
    lease = await lease_one(store, types=("notify",))
    assert lease.parent_id == "p1"
    await store.ack([("c2", lease.token, '"done"')])
    c3 = await stored_fields(store, "c3")
    assert c3["parent"] == "c2" and orjson.loads(c3["payload"])["parent"]["result"] == "done"


async def test_a_result_that_is_not_json_reaches_the_follow_up_as_a_string(store: Store) -> None:
    await store.submit([new_job("p1", on_success=(follow_up("c1", "notify"),))])
    lease = await lease_one(store)
    await store.ack([("p1", lease.token, "not json {")])
    payload = orjson.loads((await stored_fields(store, "c1"))["payload"])
    assert payload["parent"]["result"] == "not json {"


async def test_a_requeued_job_that_dies_again_does_not_duplicate_its_follow_up(
    store: Store,
) -> None:
    await store.submit([new_job("p1", retries=0, on_failure=(follow_up("f1", "alert"),))])
    for _ in range(2):
        lease = await lease_one(store)
        await store.nack([NackItem("p1", lease.token, "E", "boom", non_retryable=True)])
        await store.requeue_dead(["p1"])
    assert await ready_ids(store, "alert") == ["f1"]


async def test_a_requeued_job_that_dies_again_does_not_remake_an_expired_follow_up(
    store: Store,
) -> None:
    await store.submit([new_job("p1", retries=0, on_failure=(follow_up("f1", "alert"),))])
    lease = await lease_one(store)
    await store.nack([NackItem("p1", lease.token, "E", "boom", non_retryable=True)])
    done = await lease_one(store, types=("alert",))
    assert await store.ack([("f1", done.token, "{}")]) == ["ok"]
    await store.redis.delete(store.keys.job("f1"))  # finished, then expired
    await store.requeue_dead(["p1"])
    lease = await lease_one(store)
    await store.nack([NackItem("p1", lease.token, "E", "boom", non_retryable=True)])
    assert await stored_fields(store, "f1") == {}
    assert await ready_ids(store, "alert") == []


async def test_follow_up_idempotency_key_returns_the_earlier_job(store: Store) -> None:
    await store.submit([new_job("first", "notify", idempotency_key="notify-u1")])
    await store.submit(
        [new_job("p1", on_success=(follow_up("c1", "notify", idempotency_key="notify-u1"),))]
    )
    lease = await lease_one(store)
    await store.ack([("p1", lease.token, "{}")])
    assert await stored_fields(store, "c1") == {}
    assert (await stored_fields(store, "p1"))["follow_ups"] == "first"
