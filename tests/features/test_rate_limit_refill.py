"""A rate-limited type keeps its rate when its leases reach the stream through another
call's dispatch (an ack's refill, a submit's hand-off): that dispatch's "next token in
N ms" must reach the stream, or it sleeps until its heartbeat."""

from __future__ import annotations

import asyncio
import itertools
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
from gopher.v1.job_service_pb2 import SubmitJobRequest

from gopher_client import AsyncClient
from gopher_worker import Job, Registry, Worker
from tests.conftest import FakeClock
from tests.support import BrokerThread, until

# Far beyond every wait below: a stream that waits for its heartbeat fails the test.
HEARTBEAT_S = 60.0


async def test_a_refill_passes_on_when_the_next_token_is_due(
    broker_factory: Callable[..., BrokerThread], clock: FakeClock
) -> None:
    broker = broker_factory(clock=clock, heartbeat_interval_s=HEARTBEAT_S)
    started: list[str] = []
    registry = Registry()

    @registry.handler("email")
    async def send(job: Job) -> None:
        started.append(job.id)
        if len(started) == 1:
            # The next token is due by the time this job is acked: the ack's refill
            # leases the second job, and learns the third may go 2 s later.
            clock.advance(2000)

    worker = Worker(registry, broker.address, concurrency=16)
    async with AsyncClient(broker.address) as client:
        await client.set_rate_limit("email", rate_per_s=0.5, burst=1)
        await client.submit_jobs([SubmitJobRequest(type="email") for _ in range(10)])
        await worker.start()
        try:

            async def count(n: int) -> bool:
                return len(started) >= n

            await until(lambda: count(2), 10, "the burst, then the refill's job")

            async def second_acked() -> bool:
                return (await client.get_job(started[1])).state == 5

            await until(second_acked, 10, "the second job acked (its refill found no token)")
            assert len(started) == 2
            clock.advance(2000)  # the next token: the stream must come for it by itself
            await until(lambda: count(3), 10, "the third job, without a heartbeat")
            await asyncio.sleep(0.3)  # a token-less clock must not let a fourth through
            assert len(started) == 3
        finally:
            await worker.drain(1)


@pytest.fixture
def cpu_burners() -> Iterator[None]:
    """One busy-looping process per core, competing with the broker and the worker."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    yield
    for burner in burners:
        burner.kill()
        burner.wait(10)


async def test_rate_is_kept_on_a_loaded_machine(
    broker_factory: Callable[..., BrokerThread], cpu_burners: None
) -> None:
    rate, jobs = 5.0, 60
    broker = broker_factory(heartbeat_interval_s=HEARTBEAT_S)
    starts: list[float] = []
    registry = Registry()

    @registry.handler("email")
    async def send(job: Job) -> None:
        starts.append(time.monotonic())
        # Acks at scattered times, so some refills find a token due and some do not.
        await asyncio.sleep(random.uniform(0.15, 0.22))

    worker = Worker(registry, broker.address, concurrency=16)
    async with AsyncClient(broker.address) as client:
        await client.set_rate_limit("email", rate_per_s=rate, burst=1)
        await client.submit_jobs([SubmitJobRequest(type="email") for _ in range(jobs)])
        await worker.start()
        try:

            async def started(n: int) -> bool:
                return len(starts) >= n

            # 30 jobs take 6 s at the limit; a stream left to its heartbeat needs minutes.
            await until(lambda: started(30), 30, "30 jobs started")
        finally:
            await worker.drain(1)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert max(gaps[:29]) < 3.0, gaps  # each token is taken when it is due, give or take load
    elapsed = starts[-1] - starts[0]
    assert len(starts) <= 1 + rate * elapsed + 1  # and never faster than the limit
