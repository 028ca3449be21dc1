"""The global events feed: one tiny stream entry per transition, capped, readable
through AdminService.ListEvents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
from gopher.v1 import job_pb2

from gopher_client import AsyncClient, InvalidArgument
from gopher_server.store import events
from gopher_server.store.records import NackItem
from gopher_server.store.store import Store, StoreSettings
from tests.conftest import FakeClock
from tests.store.helpers import lease_one, new_job, submit_many
from tests.support import BrokerThread


async def test_every_transition_is_appended_in_order(store: Store, clock: FakeClock) -> None:
    await store.submit([new_job("j1", retries=1)])
    lease = await lease_one(store, worker="w1")
    await store.nack([NackItem("j1", lease.token, "ValueError", "boom", retry_after_ms=0)])
    clock.advance(1)
    await store.promote_due()
    lease = await lease_one(store, worker="w2")
    await store.ack([("j1", lease.token, "{}")])

    page = await events.read_events(store, "0-0")
    steps = [(e.from_state, e.to_state, e.attempt, e.worker_id, e.error_type) for e in page.entries]
    assert steps == [
        ("", "enqueued", 0, "", ""),
        ("enqueued", "active", 1, "w1", ""),
        ("active", "retrying", 1, "w1", "ValueError"),
        ("retrying", "enqueued", 1, "", ""),
        ("enqueued", "active", 2, "w2", ""),
        ("active", "succeeded", 2, "w2", ""),
    ]
    assert {e.job_id for e in page.entries} == {"j1"}
    assert {e.type for e in page.entries} == {"email"}
    assert page.entries[-1].time_ms == clock.ms and not page.truncated
    # Tiny entries: only the fields a dashboard needs (no message, no traceback).
    raw: Any = await store.redis.xrange(store.keys.events(), "-", "+")
    assert raw[2][1] == {"v": f"j1 email active retrying 1 {clock.ms - 1} w1 ValueError"}


async def test_entries_of_the_older_one_field_per_value_form_still_read(
    store: Store, aredis: aioredis.Redis, clock: FakeClock
) -> None:
    old: dict[Any, Any] = {"j": "j9", "y": "email", "f": "active", "s": "dead", "a": "3"}
    await aredis.xadd(store.keys.events(), {**old, "t": "17", "w": "w1", "e": "Timed Out"})
    await aredis.xadd(store.keys.events(), {"v": "j9 email dead enqueued 3 18  Bad Input Error"})
    page = await events.read_events(store, "0-0")
    steps = [(e.job_id, e.from_state, e.to_state, e.attempt, e.time_ms) for e in page.entries]
    assert steps == [("j9", "active", "dead", 3, 17), ("j9", "dead", "enqueued", 3, 18)]
    assert [(e.worker_id, e.error_type) for e in page.entries] == [
        ("w1", "Timed Out"),
        ("", "Bad Input Error"),  # the error's kind keeps its spaces
    ]


async def test_reading_on_from_last_id_pages_through_the_feed(store: Store) -> None:
    await submit_many(store, 5, "a")
    first = await events.read_events(store, "", limit=3)
    assert [e.job_id for e in first.entries] == ["a-2", "a-3", "a-4"]  # the newest three
    await submit_many(store, 2, "b")
    nxt = await events.read_events(store, first.last_id, limit=10)
    assert [e.job_id for e in nxt.entries] == ["b-0", "b-1"]
    empty = await events.read_events(store, nxt.last_id)
    assert empty.entries == [] and empty.last_id == nxt.last_id


async def test_the_feed_is_capped_and_reports_what_was_trimmed(
    aredis: aioredis.Redis, clock: FakeClock, make_store: Callable[..., Store]
) -> None:
    store = make_store(StoreSettings(events_max_len=100))
    await submit_many(store, 1000, "j")
    # Trimming is approximate (whole stream nodes of 100 entries), never unbounded.
    assert 100 <= await aredis.xlen(store.keys.events()) <= 200
    page = await events.read_events(store, "0-0", limit=1000)
    assert page.truncated and page.entries[-1].job_id == "j-999"
    assert not (await events.read_events(store, page.entries[0].id)).truncated


async def test_a_zero_cap_turns_the_feed_off(
    aredis: aioredis.Redis, clock: FakeClock, make_store: Callable[..., Store]
) -> None:
    store = make_store(StoreSettings(events_max_len=0))
    await submit_many(store, 3, "j")
    assert not await aredis.exists(store.keys.events())
    assert (await events.read_events(store)).entries == []


async def test_list_events_over_grpc(broker: BrokerThread) -> None:
    async with AsyncClient(broker.address) as client:
        empty = await client.list_events()
        assert list(empty.events) == [] and empty.last_id == "0-0"
        job_id = await client.submit_job("email", {}, delay_s=3600)
        await client.cancel_job(job_id)
        page = await client.list_events(after_id=empty.last_id)
        assert [(e.job_id, e.type, e.from_state, e.to_state) for e in page.events] == [
            (job_id, "email", job_pb2.JOB_STATE_UNSPECIFIED, job_pb2.JOB_STATE_SCHEDULED),
            (job_id, "email", job_pb2.JOB_STATE_SCHEDULED, job_pb2.JOB_STATE_CANCELLED),
        ]
        assert page.last_id == page.events[-1].id and not page.truncated
        assert page.events[0].time.ToMilliseconds() > 0
        for bad in ({"after_id": "yesterday"}, {"limit": 1001}, {"limit": -1}):
            with pytest.raises(InvalidArgument) as caught:
                await client.list_events(**bad)
            assert caught.value.field == next(iter(bad))
