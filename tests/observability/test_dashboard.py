"""The Grafana dashboard's queries, evaluated on the real metrics of two brokers sharing
one Redis: each panel must show the true figure, not one per broker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import generate_latest

from gopher_client import AsyncClient, submit_request
from gopher_worker import Job, PermanentError, Registry, Worker
from tests.observability.promql import evaluate, scrape
from tests.support import BrokerThread, until

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "gopher-dashboard.json"
# Jobs left queued (no worker handles their type), per priority.
PARKED = {"high": 3, "low": 2}
# Attempt outcomes that are failures, as the panels may label them.
FAILURES = ("failed", "retried", "dead")


def panels() -> dict[str, list[str]]:
    """Each panel's title -> its query expressions."""
    board = json.loads(DASHBOARD.read_text())
    return {p["title"]: [t["expr"] for t in p.get("targets", [])] for p in board["panels"]}


def registry() -> Registry:
    handlers = Registry()

    @handlers.handler("ok")
    async def ok(job: Job) -> None:
        return None

    @handlers.handler("bad")
    async def bad(job: Job) -> None:
        raise PermanentError("no")

    @handlers.handler("flaky")
    async def flaky(job: Job) -> None:
        if job.attempt == 1:
            raise ValueError("first time")

    return handlers


async def workload(client: AsyncClient, n_ok: int, n_bad: int, n_flaky: int) -> list[str]:
    """Submit a mix through one broker; return the ids of the jobs that will finish."""
    ids = [await client.submit_job("ok", {}) for _ in range(n_ok)]
    ids += [await client.submit_job("bad", {}) for _ in range(n_bad)]
    for _ in range(n_flaky):
        retry = submit_request("flaky", {})
        retry.retry_policy.base_delay_s = 0.0
        ids.append((await client.call(client.jobs.SubmitJob, retry)).job_id)
    return ids


async def test_panels_show_true_figures_with_two_brokers(
    broker_factory: Callable[..., BrokerThread],
) -> None:
    brokers = [broker_factory(http_port=0, stats_interval_s=0.2) for _ in range(2)]
    workers = [Worker(registry(), b.address, concurrency=4) for b in brokers]
    for worker in workers:
        await worker.start()
    try:
        async with AsyncClient(brokers[0].address) as a, AsyncClient(brokers[1].address) as b:
            for priority, count in PARKED.items():
                for _ in range(count):
                    await a.submit_job("nobody", {}, priority=priority)
            ids = await workload(a, 4, 1, 1) + await workload(b, 3, 2, 1)
            for job_id in ids:
                await asyncio.wait_for(b.wait_for(job_id), 20)
    finally:
        for worker in workers:
            await worker.drain(1)
    submitted = sum(PARKED.values()) + len(ids)
    succeeded, dead, retried = 4 + 3 + 2, 1 + 2, 2  # flaky jobs fail once, then succeed

    async with httpx.AsyncClient() as http:

        async def all_samples() -> list[tuple[str, dict[str, str], float]]:
            out = []
            for n, broker in enumerate(brokers):
                text = (await http.get(f"{broker.http_url}/metrics")).text
                out += scrape(text, job="gopher-broker", instance=f"broker{n}")
            for n, worker in enumerate(workers):
                text = generate_latest(worker.metrics.registry).decode()
                out += scrape(text, job="gopher-worker", instance=f"worker{n}")
            return out

        async def snapshots_caught_up() -> list[tuple[str, dict[str, str], float]] | None:
            got = await all_samples()
            dlq = [v for name, _, v in got if name == "gopher_dlq_size"]
            return got if dlq == [dead, dead] else None

        samples = await until(snapshots_caught_up, 15, "both brokers' queue snapshots")

    board = panels()
    # Every query of the dashboard stays inside what the evaluator understands.
    results: dict[str, list[dict[Any, float]]] = {
        title: [evaluate(expr, samples) for expr in exprs] for title, exprs in board.items()
    }

    [depth] = results["Queue depth by priority"]
    assert {dict(k)["priority"]: v for k, v in depth.items()} == PARKED

    [outcomes] = results["Outcomes by type (per s)"]
    by_outcome: dict[str, float] = {}
    for labels, value in outcomes.items():
        outcome = dict(labels)["outcome"]
        by_outcome[outcome] = by_outcome.get(outcome, 0) + value
    # Each failed attempt appears once: as retried or dead, never also as "failed".
    assert sum(by_outcome.get(o, 0) for o in FAILURES) == dead + retried
    assert by_outcome == {"succeeded": succeeded, "retried": retried, "dead": dead}

    submitted_rate, succeeded_rate = results["Throughput (jobs/s)"]
    assert submitted_rate == {(): submitted}
    assert succeeded_rate == {(): succeeded}
    assert results["Dead letter queue size"] == [{(): dead}]
    oldest = results["Oldest ready job age"][0]
    assert {dict(k)["priority"] for k in oldest} >= set(PARKED)
