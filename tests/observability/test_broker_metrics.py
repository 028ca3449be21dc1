"""Broker /metrics after a known workload: exact counters, histograms saw the jobs."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gopher_client import AsyncClient, NotFound, submit_request
from gopher_server import __version__
from gopher_worker import Job, PermanentError, Registry, Worker
from tests.support import BrokerThread, until


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, keyed by (name, sorted labels)."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_counters_match_a_known_workload(broker: BrokerThread) -> None:
    registry = Registry()

    @registry.handler("ok")
    async def ok(job: Job) -> None:
        return None

    @registry.handler("bad")
    async def bad(job: Job) -> None:
        raise PermanentError("no")

    @registry.handler("flaky")
    async def flaky(job: Job) -> None:
        if job.attempt == 1:
            raise ValueError("first time")

    worker = Worker(registry, broker.address, concurrency=4)
    await worker.start()
    try:
        async with AsyncClient(broker.address) as client:
            ids = [await client.submit_job("ok", {}, priority="high") for _ in range(5)]
            ids += [await client.submit_job("bad", {}) for _ in range(2)]
            retry = submit_request("flaky", {}, priority="low")
            retry.retry_policy.base_delay_s = 0.0
            ids.append((await client.call(client.jobs.SubmitJob, retry)).job_id)
            dup = [await client.submit_job("ok", {}, idempotency_key="k1") for _ in range(3)]
            ids.append(dup[0])
            for job_id in ids:
                await asyncio.wait_for(client.wait_for(job_id), 10)
            parked = await client.submit_job("nobody", {}, delay_s=3600)
            await client.cancel_job(parked)
    finally:
        await worker.drain(1)

    async with httpx.AsyncClient() as http:

        async def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
            return samples((await http.get(f"{broker.http_url}/metrics")).text)

        m = await scrape()
        got = lambda name, **labels: m.get((name, tuple(sorted(labels.items()))), 0.0)  # noqa: E731
        assert got("gopher_jobs_submitted_total", type="ok", priority="high") == 5
        assert (
            got("gopher_jobs_submitted_total", type="ok", priority="normal") == 1
        )  # 3 submits, 1 job
        assert got("gopher_jobs_submitted_total", type="bad", priority="normal") == 2
        assert got("gopher_jobs_submitted_total", type="flaky", priority="low") == 1
        assert got("gopher_jobs_completed_total", type="ok", outcome="succeeded") == 6
        assert got("gopher_jobs_completed_total", type="bad", outcome="failed") == 2
        assert got("gopher_jobs_completed_total", type="bad", outcome="dead") == 2
        assert got("gopher_jobs_completed_total", type="flaky", outcome="failed") == 1
        assert got("gopher_jobs_completed_total", type="flaky", outcome="retried") == 1
        assert got("gopher_jobs_completed_total", type="flaky", outcome="succeeded") == 1
        assert got("gopher_jobs_completed_total", type="nobody", outcome="cancelled") == 1
        assert got("gopher_job_wait_seconds_count", type="ok", priority="high") == 5
        assert got("gopher_jobs_dispatched_total", type="flaky") == 2
        # Client.submit_job goes over SubmitJobStream: each message is counted there.
        submits = got("gopher_grpc_requests_total", method="SubmitJob", code="OK")
        assert (
            submits + got("gopher_grpc_requests_total", method="SubmitJobStream", code="OK") >= 11
        )
        assert got("gopher_build_info", version=__version__) == 1

        async def dlq_gauge_caught_up() -> bool:
            fresh = await scrape()
            return fresh.get(("gopher_dlq_size", ()), -1) == 2

        await until(dlq_gauge_caught_up, 10, "queue snapshot refresh")


async def test_grpc_errors_are_counted_by_code(broker: BrokerThread) -> None:
    async with AsyncClient(broker.address) as client:
        for _ in range(2):
            with pytest.raises(NotFound):
                await client.get_job("no-such-job")
    async with httpx.AsyncClient() as http:
        m = samples((await http.get(f"{broker.http_url}/metrics")).text)
    assert m[("gopher_grpc_requests_total", (("code", "NOT_FOUND"), ("method", "GetJob")))] == 2
