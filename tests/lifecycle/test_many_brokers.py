"""At most one live lease per job with several brokers and workers competing."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from gopher.v1 import job_service_pb2 as jpb

from gopher_client import AsyncClient
from gopher_worker import Job, Registry, Worker
from tests.support import BrokerThread


async def test_each_job_runs_once_across_three_brokers_and_four_workers(
    broker_factory: Callable[..., BrokerThread],
) -> None:
    brokers = [broker_factory() for _ in range(3)]
    executions: Counter[str] = Counter()
    registry = Registry()

    @registry.handler("count")
    async def count(job: Job) -> None:
        executions[job.id] += 1
        await asyncio.sleep(0.001)

    workers = [
        Worker(registry, brokers[i % 3].address, concurrency=8, worker_id=f"w{i}") for i in range(4)
    ]
    for worker in workers:
        await worker.start()
    try:
        clients = [AsyncClient(b.address) for b in brokers]
        ids: list[str] = []
        for i in range(10):
            batch = [jpb.SubmitJobRequest(type="count", payload_json="{}") for _ in range(50)]
            ids += await clients[i % 3].submit_jobs(batch)
        for job_id in ids:
            job = await asyncio.wait_for(clients[0].wait_for(job_id), 30)
            assert job.state == 5 and job.attempt == 1
        for client in clients:
            await client.close()
    finally:
        for worker in workers:
            await worker.drain(1)
    assert len(ids) == 500
    assert set(executions) == set(ids)
    assert max(executions.values()) == 1
    assert sum(w.completed for w in workers) == 500
    assert sum(1 for w in workers if w.completed) >= 2  # the work was actually shared
