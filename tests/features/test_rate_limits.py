"""Global rate limits per job type: a token bucket in Redis checked by dispatch.lua's
admit(). Exact token accounting on a fake clock; waiting costs no attempt."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from gopher.v1.job_service_pb2 import SubmitJobRequest

from gopher_client import AsyncClient, InvalidArgument
from gopher_server.store import admin
from gopher_server.store.store import Store
from gopher_worker import Job, Registry, Worker
from tests.conftest import FakeClock
from tests.store.helpers import job_hash, submit_many
from tests.support import BrokerThread, until


async def take(store: Store, types: tuple[str, ...] = ("email",)) -> tuple[list[str], int]:
    """Dispatch to a worker with room for everything: (leased types, wait ms)."""
    result = await store.dispatch("w1", "s1", 1000, list(types))
    return [lease.type for lease in result.leases], result.wait_ms


async def tokens(store: Store, job_type: str = "email") -> float:
    return float(await store.redis.hget(store.keys.bucket(job_type), "tokens") or "nan")


async def test_burst_then_exact_refill(store: Store, clock: FakeClock) -> None:
    await admin.set_rate_limit(store, "email", rate_per_s=10, burst=5, max_concurrency=0)
    await submit_many(store, 50, "e", "email")
    assert await take(store) == (["email"] * 5, 100)  # the burst; next token in 100 ms
    assert await tokens(store) == 0
    assert await take(store) == ([], 100)
    clock.advance(250)  # 2.5 tokens
    assert (await take(store))[0] == ["email"] * 2
    assert await tokens(store) == pytest.approx(0.5)
    clock.advance(49)  # 0.99 tokens: not yet
    leased, wait_ms = await take(store)
    assert leased == [] and wait_ms == 1
    clock.advance(1)
    assert (await take(store))[0] == ["email"]
    clock.advance(60_000)  # a long idle spell refills to the burst, not beyond
    assert (await take(store))[0] == ["email"] * 5


async def test_other_types_are_unaffected_and_waiting_costs_no_attempt(
    store: Store, clock: FakeClock
) -> None:
    await admin.set_rate_limit(store, "email", rate_per_s=1, burst=1, max_concurrency=0)
    ids = await submit_many(store, 3, "e", "email")
    await submit_many(store, 20, "s", "sms")
    leased, _ = await take(store, ("email", "sms"))
    assert leased.count("email") == 1 and leased.count("sms") == 20
    for job_id in ids[1:]:
        fields = await job_hash(store, job_id)
        assert fields["state"] == "enqueued" and "attempt" not in fields
    clock.advance(1000)
    assert (await take(store, ("email", "sms")))[0] == ["email"]


async def test_concurrency_cap_counts_active_jobs(store: Store) -> None:
    await admin.set_rate_limit(store, "video", rate_per_s=0, burst=0, max_concurrency=2)
    await submit_many(store, 5, "v", "video")
    result = await store.dispatch("w1", "s1", 10, ["video"])
    assert len(result.leases) == 2
    assert (await store.dispatch("w2", "s2", 10, ["video"])).leases == []
    first = result.leases[0]
    assert await store.ack([(first.job_id, first.token, "null")]) == ["ok"]
    assert len((await store.dispatch("w2", "s2", 10, ["video"])).leases) == 1
    assert await store.redis.hget(store.keys.type_active(), "video") == "2"


async def test_limits_over_grpc_and_shared_by_brokers_and_workers(
    broker_factory: Callable[..., BrokerThread], store: Store, clock: FakeClock
) -> None:
    brokers = [broker_factory(clock=clock), broker_factory(clock=clock)]
    registry = Registry()

    @registry.handler("email")
    async def send(job: Job) -> None:
        return None

    workers = [
        Worker(registry, b.address, concurrency=8, worker_id=f"mailer-{i}")
        for i, b in enumerate(brokers)
    ]
    async with AsyncClient(brokers[0].address) as client:
        with pytest.raises(InvalidArgument) as caught:
            await client.set_rate_limit("email", rate_per_s=-1)
        assert caught.value.field == "rate_per_s"
        limit = await client.set_rate_limit("email", rate_per_s=10, burst=5)
        assert (limit.rate_per_s, limit.burst, limit.max_concurrency) == (10, 5, 0)
        ids = await client.submit_jobs([SubmitJobRequest(type="email") for _ in range(30)])
        for worker in workers:
            await worker.start()
        try:

            async def succeeded() -> int:
                page = await client.list_jobs(state="succeeded", page_size=1000)
                return len(page.jobs)

            async def done(n: int) -> bool:
                return await succeeded() == n

            await until(lambda: done(5), what="the burst")
            # The clock stands still, so no broker may send more: the bucket is empty.
            await until(lambda: _drained(store), what="an empty bucket")
            assert await succeeded() == 5
            clock.advance(300)  # three tokens
            await until(lambda: done(8), what="three more tokens")
            await until(lambda: _drained(store), what="an empty bucket")
            assert await succeeded() == 8
            clock.advance(10_000)  # a long wait refills only up to the burst
            await until(lambda: done(13), what="a refilled burst")
            await until(lambda: _drained(store), what="an empty bucket")
            assert await succeeded() == 13
            # Jobs held back by the limit waited without using an attempt.
            waiting = await client.list_jobs(state="enqueued", page_size=1000)
            assert len(waiting.jobs) == 17 and {j.attempt for j in waiting.jobs} == {0}
        finally:
            for worker in workers:
                await worker.drain(1)
    assert len(ids) == 30


async def _drained(store: Store) -> bool:
    raw = await store.redis.hget(store.keys.bucket("email"), "tokens")
    return raw is not None and float(raw) < 1
