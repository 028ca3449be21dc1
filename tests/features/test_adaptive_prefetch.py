"""Adaptive prefetch: a worker left at its default leases ahead while its handlers are
short and stops once they are long, telling the broker its capacity with its acks; the
broker applies a capacity from an ack to the worker's stream before the refill, and
refuses one out of range without changing anything. Real brokers, real workers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from gopher.v1 import admin_service_pb2 as admin_pb
from gopher.v1 import job_pb2
from gopher.v1 import worker_service_pb2 as wpb

from gopher_client import AsyncClient, InvalidArgument, JobState
from gopher_worker import Job, Registry, Worker
from gopher_worker._prefetch import LONG_JOB_S, PREFETCH_SHORT, WARMUP
from tests.support import BrokerThread, until


async def _capacity_listed(client: AsyncClient, worker_id: str) -> int:
    response = await client.call(client.admin.ListWorkers, admin_pb.ListWorkersRequest())
    return next((w.capacity for w in response.workers if w.worker_id == worker_id), 0)


async def test_an_ack_with_a_capacity_resizes_the_stream_before_its_refill(
    broker: BrokerThread,
) -> None:
    async with AsyncClient(broker.address) as client:
        for n in range(6):
            await client.submit_job("sized", {"n": n})
        request = wpb.StreamJobsRequest(worker_id="w-sized", job_types=["sized"], capacity=1)
        call = client.stream_jobs(request)
        leased: list[job_pb2.LeasedJob] = []

        async def read_until(count: int) -> None:
            async for response in call:
                leased.extend(response.jobs)
                if len(leased) >= count:
                    return

        try:
            await asyncio.wait_for(read_until(1), 10)
            assert len(leased) == 1  # capacity 1: one at a time
            first = leased[0]
            ack = wpb.AckJobRequest(job_id=first.job_id, lease_token=first.lease_token)

            # Out of range: refused, and the ack it carried was not applied.
            for bad in (-1, 10_001):
                with pytest.raises(InvalidArgument, match="capacity"):
                    await client.ack_jobs([ack], "w-sized", bad)
            assert (await client.get_job(first.job_id)).state == JobState.ACTIVE

            (outcome,) = await client.ack_jobs([ack], "w-sized", 3)
            assert outcome.code == wpb.OUTCOME_CODE_OK
            # The freed slot and the two new ones: three leases without another ack.
            await asyncio.wait_for(read_until(4), 10)
            assert len(leased) == 4
            assert await _capacity_listed(client, "w-sized") == 3
        finally:
            call.cancel()


def _registry(delay_s: float) -> Registry:
    registry = Registry()

    @registry.handler("timed")
    async def timed(job: Job) -> None:
        if delay_s:
            await asyncio.sleep(delay_s)

    return registry


async def _run_jobs(broker: BrokerThread, worker: Worker, count: int) -> None:
    async with AsyncClient(broker.address) as client:
        for n in range(count):
            await client.submit_job("timed", {"n": n})
        await worker.start()
        try:
            await until(_completed(worker, count), 30, f"{count} jobs done")
        finally:
            await worker.stop()
        assert worker.completed == count and worker.failed == 0


def _completed(worker: Worker, count: int) -> Callable[[], Awaitable[bool]]:
    async def done() -> bool:
        return worker.completed >= count

    return done


async def test_short_handlers_turn_the_default_prefetch_up_and_the_broker_sees_it(
    broker: BrokerThread,
) -> None:
    worker = Worker(_registry(0), broker.address, concurrency=2, worker_id="w-short")
    assert worker.prefetch.capacity == 2  # no buffer until the handlers' times are known
    await _run_jobs(broker, worker, WARMUP + 30)
    assert worker.prefetch.per_slot == PREFETCH_SHORT
    async with AsyncClient(broker.address) as client:
        assert await _capacity_listed(client, "w-short") == 2 * PREFETCH_SHORT


async def test_long_handlers_keep_the_default_prefetch_at_one(broker: BrokerThread) -> None:
    worker = Worker(_registry(2 * LONG_JOB_S), broker.address, concurrency=4, worker_id="w-long")
    await _run_jobs(broker, worker, WARMUP + 8)
    assert worker.prefetch.per_slot == 1
    async with AsyncClient(broker.address) as client:
        assert await _capacity_listed(client, "w-long") == 4


async def test_a_fixed_prefetch_never_changes(broker: BrokerThread) -> None:
    worker = Worker(_registry(0), broker.address, concurrency=2, prefetch=1, worker_id="w-one")
    await _run_jobs(broker, worker, WARMUP + 30)
    assert worker.prefetch.per_slot == 1
    assert worker._outcomes is not None and worker._outcomes.capacity == 0
