"""Cluster-wide concurrency caps per type: two brokers, two workers, one cap."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from gopher_client import AsyncClient
from gopher_server.store.store import Store
from gopher_worker import Job, Registry, Worker
from tests.support import BrokerThread, until


async def test_at_most_n_active_across_two_workers_and_brokers(
    broker_factory: Callable[..., BrokerThread], store: Store
) -> None:
    brokers = [broker_factory(), broker_factory()]
    running: set[str] = set()
    peak = 0
    gates: dict[str, asyncio.Event] = {}
    registry = Registry()

    @registry.handler("render")
    async def render(job: Job) -> None:
        nonlocal peak
        running.add(job.id)
        peak = max(peak, len(running))
        try:
            await gates.setdefault(job.id, asyncio.Event()).wait()
        finally:
            running.discard(job.id)

    workers = [
        Worker(registry, b.address, concurrency=4, worker_id=f"renderer-{i}")
        for i, b in enumerate(brokers)
    ]
    async with AsyncClient(brokers[1].address) as client:
        await client.set_rate_limit("render", max_concurrency=2)
        ids = [await client.submit_job("render", {"n": n}) for n in range(6)]
        for worker in workers:
            await worker.start()
        try:

            async def active_count(n: int) -> bool:
                return len(running) == n

            for finished in range(6):
                expected = min(2, 6 - finished)
                await until(lambda n=expected: active_count(n), what="the cap filled")  # type: ignore[misc]
                # Both workers have free slots; the cap alone holds the rest back. A
                # handler that just returned may have its ack still on the way, so the
                # count is waited for (the peak below is what the cap must never pass).

                async def counted(n: int = expected) -> bool:
                    active = await store.redis.hget(store.keys.type_active(), "render")
                    return active == str(n)

                await until(counted, 5, "the active count")
                gates.setdefault(sorted(running)[0], asyncio.Event()).set()
            for job_id in ids:
                assert (await asyncio.wait_for(client.wait_for(job_id), 10)).state == 5
        finally:
            for gate in gates.values():
                gate.set()
            for worker in workers:
                await worker.drain(1)
    assert peak == 2
    assert sum(w.completed for w in workers) == 6
