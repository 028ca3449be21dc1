"""Finished jobs: results and history expire after the retention; GetJob shows the
whole record; cancel ends a job in any non-final state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from gopher.v1 import job_pb2

from gopher_client import AsyncClient, JobState
from gopher_server.convert import job_message
from gopher_server.store.records import NackItem
from gopher_server.store.store import Store
from tests.conftest import FakeClock
from tests.store.helpers import history, history_texts, holders, job_hash, lease_one, new_job
from tests.support import BrokerThread

S = job_pb2


def _ms(moment: dt.datetime | None) -> int:
    assert moment is not None
    return round(moment.timestamp() * 1000)


async def assert_expires_after_retention(store: Store, job_id: str) -> None:
    retention = store.settings.finished_retention_ms
    ttl = await store.redis.pttl(store.job_keys(job_id).job(job_id))
    assert retention - 10_000 < ttl <= retention
    # The history is fields of that hash (it goes with it), no key of its own.
    assert await history(store, job_id)
    assert not await store.redis.exists(store.job_keys(job_id).history(job_id))


async def test_ack_stores_the_result_and_sets_the_retention_ttl(
    store: Store, clock: FakeClock
) -> None:
    await store.submit([new_job("j")])
    lease = await lease_one(store)
    assert await store.redis.pttl(store.job_keys("j").job("j")) == -1
    clock.advance(750)
    assert await store.ack([("j", lease.token, '{"sent": 3}')]) == ["ok"]
    fields = await job_hash(store, "j")
    assert (fields["state"], fields["result"], fields["finished"]) == (
        "succeeded",
        '{"sent": 3}',
        str(clock.now_ms()),
    )
    assert await holders(store, "j") == [store.job_keys("j").finished()]
    assert await store.redis.zscore(store.job_keys("j").finished(), "j") == clock.now_ms()
    await assert_expires_after_retention(store, "j")


async def test_dead_and_waiting_jobs_do_not_expire(store: Store) -> None:
    await store.submit([new_job("dead", retries=0), new_job("waiting")])
    lease = await lease_one(store)
    await store.nack([NackItem("dead", lease.token, "E", "m")])
    for job_id in ("dead", "waiting"):
        assert await store.redis.pttl(store.job_keys(job_id).job(job_id)) == -1
        assert await store.redis.pttl(store.job_keys(job_id).history(job_id)) in (-1, -2)


async def test_cancel_in_every_live_state(store: Store, clock: FakeClock) -> None:
    await store.submit([new_job("active"), new_job("retry")])
    leases = {x.job_id: x for x in (await store.dispatch("w1", "s1", 2, ["email"])).leases}
    retry = NackItem("retry", leases["retry"].token, "E", "m", retry_after_ms=5000)
    assert await store.nack([retry]) == ["retrying"]
    await store.submit([new_job("ready"), new_job("later", run_at_ms=clock.now_ms() + 1000)])
    states = {i: (await job_hash(store, i))["state"] for i in ("ready", "active", "later", "retry")}
    assert states == {
        "ready": "enqueued",
        "active": "active",
        "later": "scheduled",
        "retry": "retrying",
    }
    for job_id in states:
        assert await store.cancel(job_id) == ("cancelled", True)
        assert await holders(store, job_id) == [store.job_keys(job_id).finished()]
        await assert_expires_after_retention(store, job_id)
    assert await store.redis.scard(store.keys.inflight("w1")) == 0
    assert await store.ack([("active", leases["active"].token, "{}")]) == ["stale"]
    assert await store.cancel("active") == ("cancelled", False)
    assert await store.cancel("nope") == ("missing", False)


@pytest.mark.one_partition
async def test_cancel_leaves_final_jobs_alone(store: Store) -> None:
    await store.submit([new_job("done"), new_job("dead", retries=0)])
    a, b = (await store.dispatch("w1", "s1", 2, ["email"])).leases
    await store.ack([(a.job_id, a.token, "{}")])
    await store.nack([NackItem(b.job_id, b.token, "E", "m")])
    assert await store.cancel("done") == ("succeeded", False)
    assert await store.cancel("dead") == ("dead", False)
    assert await holders(store, "dead") == [store.job_keys("dead").dead()]


async def test_get_job_shows_the_whole_record(
    store: Store, clock: FakeClock, broker_factory: Callable[..., BrokerThread]
) -> None:
    broker = broker_factory(clock=clock)
    t0 = clock.now_ms()
    async with AsyncClient(broker.address) as client:
        job_id = await client.submit_job("email", {"to": "a@b.c"}, delay_s=10, retries=2)
        assert (await job_hash(store, job_id))["state"] == "scheduled"
        clock.advance(10_000)
        await store.promote_due()  # the broker's promoter may have been first
        clock.advance(1000)
        first = await lease_one(store, "w1")
        await store.nack(
            [
                NackItem(
                    job_id, first.token, "IOError", "disk full", "Traceback...", retry_after_ms=500
                )
            ]
        )
        clock.advance(500)
        await store.promote_due()
        clock.advance(500)
        second = await lease_one(store, "w2")
        clock.advance(500)
        assert await store.ack([(job_id, second.token, '{"ok": true}')]) == ["ok"]
        job = await client.get_job(job_id)
    assert (job.state, job.attempt, job.retries, job.worker_id) == (
        JobState.SUCCEEDED,
        2,
        2,
        "w2",
    )
    assert job.payload_json == '{"to":"a@b.c"}' and job.result_json == '{"ok": true}'
    assert job.payload == {"to": "a@b.c"} and job.result == {"ok": True}
    assert _ms(job.created_at) == t0
    assert _ms(job.run_at) == t0 + 11_500  # the last time it was due: the retry
    assert _ms(job.started_at) == t0 + 12_000
    assert _ms(job.finished_at) == t0 + 12_500
    (error,) = job.errors
    assert (error.attempt, error.error_type, error.message, error.traceback, error.worker_id) == (
        1,
        "IOError",
        "disk full",
        "Traceback...",
        "w1",
    )
    assert _ms(error.time) == t0 + 11_000
    assert [(e.from_state, e.to_state) for e in job.history] == [
        (JobState.UNSPECIFIED, JobState.SCHEDULED),
        (JobState.SCHEDULED, JobState.ENQUEUED),
        (JobState.ENQUEUED, JobState.ACTIVE),
        (JobState.ACTIVE, JobState.RETRYING),
        (JobState.RETRYING, JobState.ENQUEUED),
        (JobState.ENQUEUED, JobState.ACTIVE),
        (JobState.ACTIVE, JobState.SUCCEEDED),
    ]


async def test_history_is_capped_keeping_the_newest_events(store: Store) -> None:
    from dataclasses import replace

    store.settings = replace(store.settings, history_cap=3)
    await store.submit([new_job("h", retries=10, backoff_base_ms=0)])
    for _ in range(3):  # each round: enqueued->active, active->retrying, retrying->enqueued
        lease = await lease_one(store)
        await store.nack([NackItem("h", lease.token, "E", "again")])
        await store.promote_due()
    events = await history(store, "h")
    assert [e["s"] for e in events] == ["active", "retrying", "enqueued"]
    # The oldest entries' fields are gone from the hash, not only hidden by the reader.
    assert len(await history_texts(store, "h")) == 3
    record = await store.get_job("h")
    assert record is not None and not record.history_whole
    assert [e.to_state for e in record.events] == ["active", "retrying", "enqueued"]


async def test_history_of_a_retried_job_shows_only_what_happened(
    store: Store, clock: FakeClock
) -> None:
    # Submitted ready, failed once, retried later: the retry's run_at (later than the
    # creation) must not turn the submit into a "scheduled" one.
    await store.submit([new_job("r", retries=3)])
    lease = await lease_one(store)
    await store.nack([NackItem("r", lease.token, "E", "m", retry_after_ms=5000)])
    clock.advance(5000)
    await store.promote_due()
    lease = await lease_one(store)
    await store.ack([("r", lease.token, "null")])
    record = await store.get_job("r")
    assert record is not None
    assert [(e.from_state, e.to_state) for e in job_message(record).events] == [
        (S.JOB_STATE_UNSPECIFIED, S.JOB_STATE_ENQUEUED),
        (S.JOB_STATE_ENQUEUED, S.JOB_STATE_ACTIVE),
        (S.JOB_STATE_ACTIVE, S.JOB_STATE_RETRYING),
        (S.JOB_STATE_RETRYING, S.JOB_STATE_ENQUEUED),
        (S.JOB_STATE_ENQUEUED, S.JOB_STATE_ACTIVE),
        (S.JOB_STATE_ACTIVE, S.JOB_STATE_SUCCEEDED),
    ]
    await store.submit([new_job("later", run_at_ms=clock.now_ms() + 1000)])
    waiting = await store.get_job("later")
    assert waiting is not None
    assert [(e.from_state, e.to_state) for e in job_message(waiting).events] == [
        (S.JOB_STATE_UNSPECIFIED, S.JOB_STATE_SCHEDULED)
    ]


async def test_trimmed_history_shows_no_submit_it_no_longer_holds(store: Store) -> None:
    from dataclasses import replace

    store.settings = replace(store.settings, history_cap=3)
    await store.submit([new_job("h", retries=10, backoff_base_ms=0)])
    for _ in range(2):
        lease = await lease_one(store)
        await store.nack([NackItem("h", lease.token, "E", "again")])
        await store.promote_due()
    record = await store.get_job("h")
    assert record is not None
    assert [(e.from_state, e.to_state) for e in job_message(record).events] == [
        (S.JOB_STATE_ENQUEUED, S.JOB_STATE_ACTIVE),
        (S.JOB_STATE_ACTIVE, S.JOB_STATE_RETRYING),
        (S.JOB_STATE_RETRYING, S.JOB_STATE_ENQUEUED),
    ]
