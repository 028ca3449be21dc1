"""Leases and fencing through the public gRPC API."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
import redis.asyncio as aioredis
from gopher.v1 import job_pb2
from gopher.v1 import worker_service_pb2 as wpb

from gopher_client import AsyncClient, StaleLease
from gopher_server.store.keys import Keys
from gopher_worker import Job, Registry, Worker
from tests.support import BrokerThread, until


async def first_delivery(
    client: AsyncClient, worker_id: str, types: list[str]
) -> tuple[Any, job_pb2.LeasedJob]:
    """Open a raw stream and return it with its first delivered job.

    Await it directly (not through wait_for, which runs it in another task): grpc's
    call.cancel() only reaches the server from the task that iterated the call."""
    call = client.stream_jobs(
        wpb.StreamJobsRequest(worker_id=worker_id, job_types=types, capacity=1)
    )
    async with asyncio.timeout(10):
        async for response in call:
            if response.jobs:
                return call, response.jobs[0]
    raise AssertionError("stream ended without a job")


@pytest.mark.one_partition
async def test_stale_token_is_refused_and_changes_nothing(
    broker: BrokerThread, aredis: aioredis.Redis
) -> None:
    async with AsyncClient(broker.address) as client:
        job_id = await client.submit_job("email", {"to": "x"})
        call, lease = await first_delivery(client, "w1", ["email"])
        before = await aredis.hgetall(Keys().job(job_id))
        stale = lease.lease_token + 1
        for method, request in [
            (client.workers.AckJob, wpb.AckJobRequest(job_id=job_id, lease_token=stale)),
            (client.workers.NackJob, wpb.NackJobRequest(job_id=job_id, lease_token=stale)),
            (client.workers.ExtendLease, wpb.ExtendLeaseRequest(job_id=job_id, lease_token=stale)),
        ]:
            with pytest.raises(StaleLease) as info:
                await client.call(method, request)
            assert info.value.code == grpc.StatusCode.FAILED_PRECONDITION
        assert await aredis.hgetall(Keys().job(job_id)) == before
        await client.call(
            client.workers.AckJob, wpb.AckJobRequest(job_id=job_id, lease_token=lease.lease_token)
        )
        assert (await client.get_job(job_id)).state == 5
        with pytest.raises(StaleLease):  # a second ack of the same delivery is stale too
            await client.call(
                client.workers.AckJob,
                wpb.AckJobRequest(job_id=job_id, lease_token=lease.lease_token),
            )
        call.cancel()


async def test_closing_a_stream_releases_its_leases_at_once(broker: BrokerThread) -> None:
    async with AsyncClient(broker.address) as client:
        job_id = await client.submit_job("email", {}, lease_ttl_s=300)
        call, lease = await first_delivery(client, "w1", ["email"])
        assert lease.lease_deadline_unix_ms - lease.created_unix_ms >= 299_000  # per-job TTL
        call.cancel()

        async def back_in_queue() -> bool:
            return (await client.get_job(job_id)).state == 2  # ENQUEUED, long before 300 s

        await until(back_in_queue, 10, "job released")
        job = await client.get_job(job_id)
        if job.attempt == 0:
            # The cancel reached the broker before its write of the lease returned: it
            # cannot tell the lease arrived, so it handed the job back uncounted (a
            # late ack would be stale: the job has a new token once leased again).
            assert not job.errors
        else:
            assert job.attempt == 1 and job.errors[-1].error_type == "WorkerLost"


async def test_worker_extends_leases_while_the_handler_runs(broker: BrokerThread) -> None:
    registry = Registry()

    @registry.handler("slow")
    async def slow(job: Job) -> str:
        await asyncio.sleep(2.5)
        return "done"

    worker = Worker(registry, broker.address, concurrency=1)
    await worker.start()
    try:
        async with AsyncClient(broker.address) as client:
            job_id = await client.submit_job("slow", {}, lease_ttl_s=1)
            job = await asyncio.wait_for(client.wait_for(job_id), 15)
            full = await client.get_job(job_id)
    finally:
        await worker.drain(1)
    assert job.state == 5 and job.attempt == 1  # never expired despite a 1 s lease
    assert list(full.errors) == []


async def test_in_flight_never_exceeds_capacity(broker: BrokerThread) -> None:
    registry = Registry()
    running = 0
    peak = 0

    @registry.handler("work")
    async def work(job: Job) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1

    worker = Worker(registry, broker.address, concurrency=3)
    await worker.start()
    try:
        async with AsyncClient(broker.address) as client:
            ids = [await client.submit_job("work", {}) for _ in range(15)]
            for job_id in ids:
                await asyncio.wait_for(client.wait_for(job_id), 15)
    finally:
        await worker.drain(1)
    assert peak == 3
