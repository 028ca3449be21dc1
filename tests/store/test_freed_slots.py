"""Acks and nacks report the workers whose slots they freed, so the broker that ran
them wakes its own streams at once (Store.slots_freed)."""

from __future__ import annotations

import pytest

from gopher_server.store.records import NackItem
from gopher_server.store.store import Store
from tests.store.helpers import lease_one, submit_many


def _record(store: Store) -> list[list[str]]:
    calls: list[list[str]] = []
    store.slots_freed = lambda worker_ids: calls.append(sorted(worker_ids))
    return calls


@pytest.mark.one_partition
async def test_an_ack_reports_the_worker_it_freed(store: Store) -> None:
    await submit_many(store, 2, "j")
    a = await lease_one(store, "w1")
    b = await lease_one(store, "w2")
    calls = _record(store)
    assert await store.ack([(a.job_id, a.token, "null"), (b.job_id, b.token, "null")]) == [
        "ok",
        "ok",
    ]
    assert calls == [["w1", "w2"]]


async def test_a_nack_reports_the_worker_it_freed(store: Store) -> None:
    await submit_many(store, 1, "j")
    lease = await lease_one(store, "w1")
    calls = _record(store)
    codes = await store.nack([NackItem(lease.job_id, lease.token, "E", "boom")])
    assert codes == ["retrying"]
    assert calls == [["w1"]]


async def test_a_stale_outcome_frees_nothing(store: Store) -> None:
    await submit_many(store, 1, "j")
    lease = await lease_one(store, "w1")
    assert await store.ack([(lease.job_id, lease.token, "null")]) == ["ok"]
    calls = _record(store)
    assert await store.ack([(lease.job_id, lease.token, "null")]) == ["stale"]
    assert await store.nack([NackItem(lease.job_id, lease.token, "E", "late")]) == ["stale"]
    assert await store.ack([("nope", 1, "null")]) == ["missing"]
    assert calls == []
