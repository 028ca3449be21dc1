"""Gopher's realistic scenarios, the ones also run for every peer (`--only realistic`):
sync one-at-a-time and bulk submit loops, end to end with a job body of one Redis INCR
at the worker's default settings (and prefetch 4), and idle latency with 200 jobs/s
offered. Only the public client APIs are used, so whatever the SDK does under
`Client.submit_job` is what gets measured."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

from benchmarks import cpu, grpc_floor, job_io, probe
from benchmarks.config import Sizes
from benchmarks.gopher_app import JOB_TYPE
from benchmarks.gopher_core import Metrics, _meter, drain_rate
from benchmarks.gopher_stack import GopherStack, StackSettings
from benchmarks.procs import RedisServer
from benchmarks.stats import paced_summary
from gopher_client import AsyncClient, Client, submit_request

WARM_CALLS = 100
# The worker's own defaults (gopher-worker --help): what "default settings" means here.
DEFAULT_PREFETCH = None  # gopher-worker's own default: --prefetch auto


def _sync_loop(address: str, n: int) -> float:
    with Client(address) as client:
        for _ in range(WARM_CALLS):
            client.submit_job(JOB_TYPE, {})
        started = time.perf_counter()
        for _ in range(n):
            client.submit_job(JOB_TYPE, {})
        return time.perf_counter() - started


async def _async_loop(address: str, n: int) -> float:
    async with AsyncClient(address) as client:
        for _ in range(WARM_CALLS):
            await client.submit_job(JOB_TYPE, {})
        started = time.perf_counter()
        for _ in range(n):
            await client.submit_job(JOB_TYPE, {})
        return time.perf_counter() - started


def _bulk_loop(address: str, n: int, batch: int) -> float:
    """`Client.submit_jobs` in a plain loop, one batch at a time; requests are built
    inside the timed loop (building them is part of enqueuing)."""
    with Client(address) as client:
        client.submit_jobs([submit_request(JOB_TYPE, {}) for _ in range(10)])
        started = time.perf_counter()
        for i in range(0, n, batch):
            client.submit_jobs([submit_request(JOB_TYPE, {}) for _ in range(min(batch, n - i))])
        return time.perf_counter() - started


def loops(redis: RedisServer, sizes: Sizes, settings: StackSettings) -> Metrics:
    """Sync `Client.submit_job` one at a time from one thread, `AsyncClient.submit_job`
    one awaited call at a time, and sync `Client.submit_jobs` batches; no workers."""
    n = sizes.loop_jobs
    out: Metrics = {}
    redis.flush()
    with GopherStack(redis.url, settings, "loops") as stack:
        meter = _meter(stack, redis, client=True)
        before = meter.snapshot()
        elapsed = _sync_loop(stack.address, n)
        out["loop_sync_per_s"] = round(n / elapsed)
        out["loop_sync_cpu"] = cpu.summary(before, meter.snapshot(), n + WARM_CALLS)
        out["loop_async_per_s"] = round(n / asyncio.run(_async_loop(stack.address, n)))
    redis.flush()
    with GopherStack(redis.url, settings, "loops-bulk") as stack:
        bulk = sizes.loop_bulk_jobs
        out["loop_bulk_per_s"] = round(
            bulk / _bulk_loop(stack.address, bulk, sizes.bulk_batch_size)
        )
        out["loop_bulk_api"] = f"Client.submit_jobs x {sizes.bulk_batch_size}"
    return out


def loops_beside_floors(redis: RedisServer, sizes: Sizes, settings: StackSettings) -> Metrics:
    """The floors of Python gRPC (`grpc_floor.floors`) and `loops`, alternated
    `real_rounds` times; the best of each figure is kept (other work on the machine
    only ever slows a round down) and every round's figures are kept beside it."""
    best: Metrics = {}
    rounds: list[Metrics] = []
    for _ in range(sizes.real_rounds):
        this = {**grpc_floor.floors(sizes), **loops(redis, sizes, settings)}
        rounds.append({k: v for k, v in this.items() if k.endswith("_per_s")})
        for key, value in this.items():
            if key.endswith("_per_s"):
                best[key] = max(value, best.get(key, 0))
            else:
                best.setdefault(key, value)
    return {**best, "loop_rounds": rounds}


def e2e_io(redis: RedisServer, sizes: Sizes, settings: StackSettings) -> Metrics:
    """Drain `io_e2e_jobs` realistic jobs with the worker's default prefetch and with
    prefetch 4, and the same count of no-op jobs at the default (with the Redis
    commands and CPU per job: the no-op targets are about those)."""
    default = dataclasses.replace(settings, prefetch=DEFAULT_PREFETCH)
    p4 = dataclasses.replace(settings, prefetch=4)
    n, cap = sizes.io_e2e_jobs, sizes.io_e2e_cap_s
    io: Metrics = drain_rate(redis, sizes, default, n, "e2e-io", payload={"io": 1}, cap_s=cap)
    incrs = job_io.count(redis.url)
    io_p4 = drain_rate(redis, sizes, p4, n, "e2e-io-p4", payload={"io": 1}, cap_s=cap)
    noop = drain_rate(redis, sizes, default, sizes.e2e_jobs, "e2e-default", cap_s=cap)
    out: Metrics = {
        "e2e_io_per_s": io["e2e_per_s"],
        "e2e_io_jobs": io["e2e_jobs"],
        "e2e_io_incrs": incrs,
        "e2e_io_steady_per_s": io["e2e_steady_per_s"],
        "e2e_io_cpu": io["e2e_cpu"],
        "e2e_io_p4_per_s": io_p4["e2e_per_s"],
        "e2e_default_per_s": noop["e2e_per_s"],
        "e2e_default_cpu": noop["e2e_cpu"],
        "e2e_default_redis_commands": noop["e2e_redis_commands"],
        "e2e_io_settings": f"{settings.workers} workers x {settings.concurrency}, prefetch"
        " auto (the worker's default); e2e_io_p4: prefetch 4",
    }
    if io["e2e_jobs"] < n:
        out["e2e_io_note"] = f"{io['e2e_jobs']} of {n} jobs within the {cap:.0f}s cap"
    return out


def paced(redis: RedisServer, sizes: Sizes, settings: StackSettings) -> Metrics:
    """Submit->start latency with `paced_rate` jobs/s offered (sync `Client.submit_job`)
    to warm, idle workers at their default settings."""
    default = dataclasses.replace(settings, prefetch=DEFAULT_PREFETCH)
    redis.flush()
    with GopherStack(redis.url, default, "paced") as stack, redis.client() as rc:
        stack.start_workers()
        with Client(stack.address) as client:

            def submit(payload: dict[str, Any]) -> None:
                client.submit_job(JOB_TYPE, payload)

            probe.sample_latency(rc, submit, 20, 5.0, sizes.latency_gap_s, warmup=0)
            samples, offered = probe.sample_paced(rc, submit, sizes.paced_rate, sizes.paced_jobs)
    return paced_summary(samples, offered, sizes.paced_jobs)
