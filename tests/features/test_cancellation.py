"""Cancellation: queued jobs vanish at once; a running handler sees asyncio
cancellation through its worker's stream; a cancelled job never runs again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from gopher.v1 import job_pb2

from gopher_client import AsyncClient, JobState
from gopher_server.store.store import Store
from gopher_worker import Job, Registry, Worker
from tests.store.helpers import holders
from tests.support import BrokerThread


async def test_pending_and_scheduled_jobs_are_removed_at_once(
    broker: BrokerThread, store: Store
) -> None:
    async with AsyncClient(broker.address) as client:
        pending = await client.submit_job("email", {})
        later = await client.submit_job("email", {}, delay_s=3600)
        for job_id in (pending, later):
            answer = await client.cancel_job(job_id)
            assert answer.cancelled and answer.state == job_pb2.JOB_STATE_CANCELLED
            assert await holders(store, job_id) == [store.keys.finished()]
        again = await client.cancel_job(pending)
        assert not again.cancelled and again.state == job_pb2.JOB_STATE_CANCELLED


async def test_running_handler_is_cancelled_over_the_stream_and_never_retried(
    broker_factory: Callable[..., BrokerThread], store: Store
) -> None:
    # The worker streams from one broker; the cancel goes through the other.
    brokers = [broker_factory(), broker_factory()]
    started = asyncio.Event()
    saw_cancel = asyncio.Event()
    runs: list[int] = []
    registry = Registry()

    @registry.handler("transcode")
    async def transcode(job: Job) -> None:
        runs.append(job.attempt)
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            saw_cancel.set()
            raise

    worker = Worker(registry, brokers[0].address, concurrency=2)
    await worker.start()
    try:
        async with AsyncClient(brokers[1].address) as client:
            job_id = await client.submit_job("transcode", {}, retries=5)
            await asyncio.wait_for(started.wait(), 10)
            answer = await client.cancel_job(job_id)
            assert answer.cancelled
            await asyncio.wait_for(saw_cancel.wait(), 10)
            job = await client.get_job(job_id)
    finally:
        await worker.drain(1)
    assert job.state == JobState.CANCELLED and job.attempt == 1
    assert [e.to_state for e in job.history][-1] == JobState.CANCELLED
    assert runs == [1]
    assert await holders(store, job_id) == [store.keys.finished()]
    assert worker.failed == 0 and worker.completed == 0
