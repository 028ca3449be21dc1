"""Calls that dispatch on a stream's behalf: a submit handing new work straight to a
parked stream (submit_and_dispatch), an ack refilling the slots it freed
(ack_and_dispatch), and the broker side: the leases go to the stream, or back when the
stream closed meanwhile."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from gopher.v1 import worker_service_pb2
from redis.asyncio.client import PubSub

from gopher_server.dispatch.hub import Hub
from gopher_server.dispatch.session import StreamSession
from gopher_server.dispatch.streamer import Streamer
from gopher_server.observability.metrics import BrokerMetrics
from gopher_server.services.jobs import JobService
from gopher_server.services.workers import WorkerService
from gopher_server.store.records import DispatchTarget
from gopher_server.store.store import Store
from tests.conftest import broker_config
from tests.store.helpers import job_hash, lease_one, new_job, ready_ids, submit_many


def target(
    worker: str = "w1", capacity: int = 4, types: tuple[str, ...] = ("email",)
) -> DispatchTarget:
    return DispatchTarget(worker, f"{worker}-session", capacity, types)


async def test_the_new_job_is_leased_to_the_waiting_worker_in_the_same_call(
    store: Store,
) -> None:
    (result,), dispatched = await store.submit_and_dispatch([new_job("j1")], target())
    assert result.job_id == "j1" and result.state == "enqueued"
    assert [x.job_id for x in dispatched.leases] == ["j1"]
    lease = dispatched.leases[0]
    assert lease.attempt == 1 and lease.token == 1
    fields = await job_hash(store, "j1")
    assert fields["state"] == "active" and fields["wid"] == "w1" and fields["sid"] == "w1-session"
    assert await ready_ids(store, "normal", "email") == []


@pytest.mark.one_partition
async def test_the_hand_off_dispatches_as_the_stream_would_older_work_first(
    store: Store,
) -> None:
    await submit_many(store, 3, "old")
    _, dispatched = await store.submit_and_dispatch([new_job("new")], target(capacity=2))
    # Two free slots, three older jobs waiting: the hand-off takes what a dispatch
    # takes (oldest first), never the new job out of turn.
    assert [x.job_id for x in dispatched.leases] == ["old-0", "old-1"]
    assert (await job_hash(store, "new"))["state"] == "enqueued"


async def test_a_full_worker_gets_nothing_and_the_job_stays_ready(store: Store) -> None:
    await submit_many(store, 1, "busy")
    await lease_one(store, "w1")
    _, dispatched = await store.submit_and_dispatch([new_job("j1")], target(capacity=1))
    assert dispatched.leases == []
    assert await ready_ids(store, "normal", "email") == ["j1"]


@pytest.mark.one_partition
async def test_work_taken_by_the_hand_off_is_not_announced(
    store: Store, aredis: aioredis.Redis
) -> None:
    pubsub = aredis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(store.keys.control_channel())
    try:
        await store.submit_and_dispatch([new_job("taken")], target())
        await store.submit([new_job("queued", job_type="sms")])
        seen = await _announcements(store, aredis, pubsub)
        # Only the job left waiting wakes other brokers' streams.
        assert seen == ["w sms"]
    finally:
        await pubsub.aclose()


async def _service(store: Store, redis_url: str) -> JobService:
    return JobService(
        store, Hub(store.pubsub(), store.keys), broker_config(redis_url), BrokerMetrics("t")
    )


async def test_the_service_gives_handed_leases_to_the_stream(store: Store, redis_url: str) -> None:
    service = await _service(store, redis_url)
    stream = StreamSession("w1", ["email"], 4)
    result, taken = await service._submit_to(stream, new_job("j1"))
    assert taken and result.job_id == "j1"
    assert [x.job_id for x in stream.take_handed()] == ["j1"]
    assert stream.wake.is_set()


async def test_leases_for_a_stream_that_closed_meanwhile_go_back_uncounted(
    store: Store, redis_url: str
) -> None:
    service = await _service(store, redis_url)
    stream = StreamSession("w1", ["email"], 4)
    stream.closed = True
    result, taken = await service._submit_to(stream, new_job("j1"))
    assert not taken and result.state == "enqueued"
    assert stream.handed == []
    fields = await job_hash(store, "j1")
    assert fields["state"] == "enqueued" and fields.get("attempt", "0") == "0"
    assert await ready_ids(store, "normal", "email") == ["j1"]
    assert await store.redis.scard(store.keys.inflight("w1")) == 0


async def test_a_closing_stream_gives_back_leases_handed_to_it_but_not_written(
    store: Store, redis_url: str
) -> None:
    config = broker_config(redis_url)
    streamer = Streamer(store, Hub(store.pubsub(), store.keys), config, BrokerMetrics("t"))
    stream = StreamSession("w1", ["email"], 4)
    to = DispatchTarget(stream.worker_id, stream.session_id, 4, ("email",))
    _, dispatched = await store.submit_and_dispatch([new_job("j1")], to)
    assert stream.hand(dispatched.leases)
    await streamer._release(stream)
    fields = await job_hash(store, "j1")
    assert fields["state"] == "enqueued" and fields.get("attempt", "0") == "0"
    assert await ready_ids(store, "normal", "email") == ["j1"]


@pytest.mark.one_partition
async def test_an_ack_refills_the_freed_slot_in_the_same_call(
    store: Store, aredis: aioredis.Redis
) -> None:
    await submit_many(store, 3, "j")
    to = target(capacity=1)
    first = (await store.dispatch(to.worker_id, to.session_id, 1, to.job_types)).leases[0]
    pubsub = aredis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(store.keys.control_channel())
    freed: list[list[str]] = []
    store.slots_freed = lambda ids: freed.append(list(ids))
    try:
        outcomes, dispatched = await store.ack_and_dispatch(
            [(first.job_id, first.token, "null")], to
        )
        assert outcomes == [("ok", "email")]
        assert [x.job_id for x in dispatched.leases] == ["j-1"]  # the slot, refilled
        # The refill already used the freed slot: nobody is told it is free.
        assert freed == []
        seen = await _announcements(store, aredis, pubsub)
        assert not any(m.startswith("s ") for m in seen), seen
    finally:
        await pubsub.aclose()


@pytest.mark.one_partition
async def test_acks_through_the_service_refill_the_local_stream(
    store: Store, redis_url: str
) -> None:
    hub = Hub(store.pubsub(), store.keys)
    service = WorkerService(store, hub, broker_config(redis_url), BrokerMetrics("t"))
    stream = StreamSession("w1", ["email"], 1)
    hub.add(stream)
    await submit_many(store, 2, "j")
    first = (await store.dispatch("w1", stream.session_id, 1, ["email"])).leases[0]
    ack = worker_service_pb2.AckJobRequest(job_id=first.job_id, lease_token=first.token)
    request = worker_service_pb2.AckJobsRequest(acks=[ack], worker_id="w1")
    response = await service.AckJobs(request, None)  # type: ignore[arg-type]
    assert [o.code for o in response.outcomes] == [worker_service_pb2.OUTCOME_CODE_OK]
    assert [x.job_id for x in stream.take_handed()] == ["j-1"]


async def _announcements(store: Store, aredis: aioredis.Redis, pubsub: PubSub) -> list[str]:
    """Every control message published so far. Redis delivers a channel's messages in
    publish order, so once our own marker arrives, all earlier ones have arrived."""
    await aredis.publish(store.keys.control_channel(), "marker")
    seen: list[str] = []
    while not seen or seen[-1] != "marker":
        message = await pubsub.get_message(timeout=5)
        if message is not None:
            seen.append(message["data"])
    return seen[:-1]
