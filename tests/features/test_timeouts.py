"""Execution timeouts, per job (timeout_s on submit) and per type (registry), end to
end with an in-process Worker and broker. A timed-out attempt fails like any other."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
from gopher.v1 import job_pb2

from gopher_client import AsyncClient, JobState, submit_request
from gopher_worker import Job, Registry, Worker
from tests.support import BrokerThread


async def test_async_handler_is_cancelled_then_retried_then_dead(broker: BrokerThread) -> None:
    registry = Registry()
    cancelled: list[int] = []

    @registry.handler("slow")
    async def slow(job: Job) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(job.attempt)
            raise

    worker = Worker(registry, broker.address, concurrency=2)
    await worker.start()
    try:
        async with AsyncClient(broker.address) as client:
            request = submit_request("slow", {}, retries=1, timeout_s=0.2)
            request.retry_policy.base_delay_s = 0.01
            job_id = (await client.call(client.jobs.SubmitJob, request)).job_id
            job = await asyncio.wait_for(client.wait_for(job_id), 10)
            full = await client.get_job(job_id)
    finally:
        await worker.drain(1)
    assert job.state == JobState.DEAD and job.attempt == 2
    assert cancelled == [1, 2]
    assert [e.error_type for e in full.errors] == ["TimeoutError", "TimeoutError"]
    assert "0.2s timeout" in full.errors[0].message


async def test_per_type_timeout_and_per_job_override(broker: BrokerThread) -> None:
    registry = Registry()

    @registry.handler("report", timeout_s=0.2)
    async def report(job: Job) -> str:
        await asyncio.sleep(float(job.payload["work_s"]))
        return "done"

    worker = Worker(registry, broker.address, concurrency=2)
    await worker.start()
    try:
        async with AsyncClient(broker.address) as client:
            quick = await client.submit_job("report", {"work_s": 0.01}, retries=0)
            late = await client.submit_job("report", {"work_s": 5}, retries=0)
            allowed = await client.submit_job("report", {"work_s": 0.5}, retries=0, timeout_s=10)
            states = [
                (await asyncio.wait_for(client.wait_for(j), 10)).state
                for j in (quick, late, allowed)
            ]
            late_job = await client.get_job(late)
    finally:
        await worker.drain(1)
    assert states == [job_pb2.JOB_STATE_SUCCEEDED, job_pb2.JOB_STATE_DEAD, 5]
    assert late_job.errors[0].error_type == "TimeoutError"


async def test_sync_handler_thread_is_abandoned_with_a_warning(
    broker: BrokerThread, caplog: pytest.LogCaptureFixture
) -> None:
    registry = Registry()
    release = threading.Event()
    finished = threading.Event()

    @registry.handler("blocking")
    def blocking(job: Job) -> None:
        release.wait(30)
        finished.set()

    worker = Worker(registry, broker.address, concurrency=2)
    await worker.start()
    try:
        async with AsyncClient(broker.address) as client:
            with caplog.at_level(logging.WARNING, logger="gopher_worker"):
                job_id = await client.submit_job("blocking", {}, retries=0, timeout_s=0.2)
                job = await asyncio.wait_for(client.wait_for(job_id), 10)
            full = await client.get_job(job_id)
    finally:
        release.set()  # let the abandoned thread end before the pool goes away
        await asyncio.to_thread(finished.wait, 10)
        await worker.drain(1)
    assert job.state == JobState.DEAD
    assert full.errors[0].error_type == "TimeoutError"
    assert any("abandoned" in r.getMessage() for r in caplog.records)
