"""Submit -> stream -> handler -> ack, end to end through the public gRPC API."""

from __future__ import annotations

import asyncio
from typing import Any

from gopher_client import AsyncClient, submit_request
from gopher_worker import Job, PermanentError, Registry, Worker
from tests.support import BrokerThread


async def test_job_runs_and_result_is_stored(broker: BrokerThread) -> None:
    registry = Registry()
    seen: list[dict[str, Any]] = []

    @registry.handler("email")
    async def send(job: Job) -> dict[str, Any]:
        seen.append(job.payload)
        return {"sent": job.payload["to"]}

    worker = Worker(registry, broker.address, concurrency=4)
    await worker.start()
    async with AsyncClient(broker.address) as client:
        job_id = await client.submit_job("email", {"to": "a@b.c"}, priority="high")
        job = await asyncio.wait_for(client.wait_for(job_id), 10)
    await worker.drain(1)
    assert job.state == 5  # SUCCEEDED
    assert job.result_json == '{"sent":"a@b.c"}'
    assert job.attempt == 1
    assert seen == [{"to": "a@b.c"}]


async def test_failures_retry_then_dead_letter(broker: BrokerThread) -> None:
    registry = Registry()
    attempts: list[int] = []

    @registry.handler("flaky")
    def flaky(job: Job) -> None:
        attempts.append(job.attempt)
        raise ValueError(f"boom {job.attempt}")

    @registry.handler("doomed")
    async def doomed(job: Job) -> None:
        raise PermanentError("never")

    worker = Worker(registry, broker.address, concurrency=2)
    await worker.start()
    async with AsyncClient(broker.address) as client:
        req = submit_request("flaky", {}, retries=2)
        req.retry_policy.base_delay_s = 0.01
        flaky_id = (await client.call(client.jobs.SubmitJob, req)).job_id
        doomed_id = await client.submit_job("doomed", {}, retries=5)
        flaky_job = await asyncio.wait_for(client.wait_for(flaky_id), 10)
        doomed_job = await asyncio.wait_for(client.wait_for(doomed_id), 10)
        full = await client.get_job(flaky_id)
    await worker.drain(1)
    assert flaky_job.state == 6 and attempts == [1, 2, 3]
    assert [e.message for e in full.errors] == ["boom 1", "boom 2", "boom 3"]
    assert all(e.error_type == "ValueError" and "Traceback" in e.traceback for e in full.errors)
    assert doomed_job.state == 6 and doomed_job.attempt == 1
