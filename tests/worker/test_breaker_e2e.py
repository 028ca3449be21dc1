"""The circuit breaker end to end: a failing type is held back (no attempts burned),
visible to admins, and a successful probe resumes it."""

from __future__ import annotations

import asyncio

from gopher.v1 import worker_service_pb2 as wpb

from gopher_client import AsyncClient, Client
from gopher_worker import BreakerPolicy, Job, Registry, Worker
from tests.support import BrokerThread, until


async def test_open_circuit_holds_the_type_and_a_probe_closes_it(broker: BrokerThread) -> None:
    registry = Registry()
    downstream_up = False
    runs: list[str] = []

    @registry.handler("charge")
    async def charge(job: Job) -> None:
        runs.append(job.id)
        if not downstream_up:
            raise ConnectionError("payment gateway down")

    @registry.handler("email")
    async def email(job: Job) -> None:
        return None

    policy = BreakerPolicy(failure_count=2, cooldown_s=1.0, window_s=60)
    worker = Worker(registry, broker.address, concurrency=1, worker_id="w-breaker", breaker=policy)
    await worker.start()
    try:
        async with AsyncClient(broker.address) as client:
            failing = [await client.submit_job("charge", {}, retries=10) for _ in range(2)]

            async def circuit_open() -> bool:
                workers = await asyncio.to_thread(Client(broker.address).list_workers)
                return any(w.circuits.get("charge") == wpb.CIRCUIT_STATE_OPEN for w in workers)

            await until(circuit_open, 10, "breaker open and reported")
            held = [await client.submit_job("charge", {}) for _ in range(3)]
            other = await client.submit_job("email", {})
            assert (await asyncio.wait_for(client.wait_for(other), 10)).state == 5
            before = len(runs)
            for job_id in held:  # waiting, not failed, attempts untouched
                job = await client.get_job(job_id)
                assert job.state == 2 and job.attempt == 0
            downstream_up = True

            async def all_done() -> bool:
                jobs = [await client.get_job(j) for j in failing + held]
                return all(j.state == 5 for j in jobs)

            await until(all_done, 20, "probe closes the circuit and the backlog drains")
            assert worker.breaker is not None and worker.breaker.state("charge") == "closed"
            assert len(runs) >= before + 1
    finally:
        await worker.drain(1)
