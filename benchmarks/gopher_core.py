"""Gopher's core scenarios, the ones also run for every peer: enqueue (single and
batch), memory per queued job, end-to-end throughput and idle latency. Each scenario
gets an empty Redis and its own broker and workers."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from benchmarks import cpu, probe
from benchmarks.config import Sizes
from benchmarks.gopher_app import JOB_TYPE
from benchmarks.gopher_stack import GopherStack, StackSettings
from benchmarks.procs import RedisServer
from benchmarks.stats import (
    MEMORY_SETTLE_S,
    latency_summary,
    memory_per_job,
    payload_of_size,
    percentile,
)
from gopher_client import AsyncClient, Client, submit_request

Metrics = dict[str, Any]


async def submit_bulk(
    address: str,
    n: int,
    payload: dict[str, Any],
    sizes: Sizes,
    job_type: str = JOB_TYPE,
    run_at: dt.datetime | None = None,
) -> float:
    """Submit `n` jobs with SubmitJobs, a few batches in flight; return seconds taken.
    Requests are built inside the timed loop: building them is part of enqueuing."""
    batches = [min(sizes.bulk_batch_size, n - i) for i in range(0, n, sizes.bulk_batch_size)]
    started = time.perf_counter()
    async with AsyncClient(address) as client:

        async def sender() -> None:
            while batches:
                size = batches.pop()
                requests = [submit_request(job_type, payload, run_at=run_at) for _ in range(size)]
                await client.submit_jobs(requests)

        await asyncio.gather(*(sender() for _ in range(sizes.bulk_in_flight)))
    return time.perf_counter() - started


async def submit_single(address: str, n: int, concurrency: int) -> float:
    """Submit `n` jobs one SubmitJob each, `concurrency` calls in flight; seconds taken."""
    remaining = [n]
    started = time.perf_counter()
    async with AsyncClient(address) as client:

        async def sender() -> None:
            while remaining[0] > 0:
                remaining[0] -= 1
                await client.submit_job(JOB_TYPE, {})

        await asyncio.gather(*(sender() for _ in range(concurrency)))
    return time.perf_counter() - started


def _meter(stack: GopherStack, redis: RedisServer, client: bool = False) -> cpu.CpuMeter:
    """CPU meter over the stack's processes, Redis, and optionally this process."""
    roles: dict[str, list[int]] = {
        "broker": [stack.pids["broker"]],
        "workers": [p for r, p in stack.pids.items() if r != "broker"],
    }
    roles["redis"] = [redis.proc.pid] if redis.proc else []
    if client:
        roles.update(cpu.CpuMeter.client_roles())
    return cpu.CpuMeter(roles)


def enqueue(redis: RedisServer, sizes: Sizes, settings: StackSettings) -> Metrics:
    """Single submits (async, concurrent; and a plain sync loop) and batched submits."""
    out: Metrics = {}
    redis.flush()
    with GopherStack(redis.url, settings, "enqueue") as stack:
        n = sizes.enqueue_single_jobs
        meter = _meter(stack, redis, client=True)
        before = meter.snapshot()
        elapsed = asyncio.run(submit_single(stack.address, n, sizes.enqueue_concurrency))
        out["enqueue_single_per_s"] = round(n / elapsed)
        out["enqueue_single_cpu"] = cpu.summary(before, meter.snapshot(), n)
        out["enqueue_single_concurrency"] = sizes.enqueue_concurrency
        n_sync = max(1_000, n // 5)
        with Client(stack.address) as client:
            started = time.perf_counter()
            for _ in range(n_sync):
                client.submit_job(JOB_TYPE, {})
            out["enqueue_single_sync_per_s"] = round(n_sync / (time.perf_counter() - started))
    redis.flush()
    with GopherStack(redis.url, settings, "enqueue-bulk") as stack:
        n = sizes.enqueue_bulk_jobs
        meter = _meter(stack, redis, client=True)
        before = meter.snapshot()
        elapsed = asyncio.run(submit_bulk(stack.address, n, {}, sizes))
        out["enqueue_bulk_per_s"] = round(n / elapsed)
        out["enqueue_bulk_cpu"] = cpu.summary(before, meter.snapshot(), n)
        out["enqueue_bulk_batch"] = sizes.bulk_batch_size
    return out


async def _fill_twice(
    stack: GopherStack, redis: RedisServer, payload: dict[str, Any], sizes: Sizes
) -> list[int]:
    """used_memory before, after `memory_jobs` queued jobs and after as many more (on
    one event loop: a gRPC channel must not outlive its loop)."""
    readings = [redis.used_memory()]
    for _ in range(2):
        await submit_bulk(stack.address, sizes.memory_jobs, payload, sizes)
        await asyncio.sleep(MEMORY_SETTLE_S)
        readings.append(redis.used_memory())
    return readings


def memory(redis: RedisServer, sizes: Sizes, settings: StackSettings) -> Metrics:
    """used_memory per queued job with a `payload_bytes` payload (marginal cost, and the
    first batch's, see benchmarks.stats.memory_per_job), plus the keys one job owns and
    what each costs (MEMORY USAGE), to show where the bytes go."""
    redis.flush()
    payload = payload_of_size(sizes.payload_bytes)
    with GopherStack(redis.url, settings, "memory") as stack:
        time.sleep(0.3)  # let the broker's own keys (heartbeats, schedules) appear
        out = memory_per_job(
            asyncio.run(_fill_twice(stack, redis, payload, sizes)), sizes.memory_jobs
        )
        with Client(stack.address) as client:
            job_id = client.submit_job(JOB_TYPE, payload)
        with redis.client() as c:
            keys = {k.decode(): int(c.memory_usage(k) or 0) for k in c.scan_iter(f"*{job_id}*")}
            fields = {}
            for key in keys:
                if c.type(key) == b"hash":
                    fields = {f.decode(): len(v) for f, v in c.hgetall(key).items()}
                    out["one_job_hash_encoding"] = c.object("encoding", key).decode()
            dbsize = int(c.dbsize())
    return {
        **out,
        "keys_per_job": round(dbsize / (2 * sizes.memory_jobs), 2),
        "one_job_keys_bytes": {k.replace(job_id, "<id>"): v for k, v in keys.items()},
        "one_job_hash_field_lengths": fields,
    }


def command_stats(rc: Any, jobs: int, top: int = 16) -> dict[str, Any]:
    """Redis commands per job since the last CONFIG RESETSTAT, busiest first: calls and
    microseconds per job. Commands run inside Lua scripts are counted on their own and
    again inside `evalsha`'s time, so `script_usec_per_job` is the Redis time of the
    scripts. The probe's own flushes are a handful per 100 ms, not per job."""
    stats = rc.info("commandstats")
    rows = sorted(
        ((k.removeprefix("cmdstat_"), int(v["calls"]), int(v["usec"])) for k, v in stats.items()),
        key=lambda row: -row[2],
    )
    n = max(1, jobs)
    scripts = [r for r in rows if r[0] in ("evalsha", "eval", "fcall")]
    return {
        "script_calls_per_job": round(sum(r[1] for r in scripts) / n, 3),
        "script_usec_per_job": round(sum(r[2] for r in scripts) / n, 1),
        "commands_per_job": round(sum(r[1] for r in rows if r not in scripts) / n, 1),
        "top": [
            [name, round(calls / n, 2), round(usec / n, 2)] for name, calls, usec in rows[:top]
        ],
    }


def drain_rate(
    redis: RedisServer,
    sizes: Sizes,
    settings: StackSettings,
    n: int,
    tag: str,
    measure: Callable[[Any], Metrics] | None = None,
    payload: dict[str, Any] | None = None,
    cap_s: float | None = None,
) -> Metrics:
    """Queue `n` jobs (no-ops unless `payload` says otherwise), then start the workers
    and time the handler starts, for at most `cap_s` (default `e2e_cap_s`).
    `measure(redis_client)` replaces the wait-for-all when given (large backlogs)."""
    redis.flush()
    with GopherStack(redis.url, settings, tag) as stack:
        fill_s = asyncio.run(submit_bulk(stack.address, n, payload or {}, sizes))
        with redis.client() as c:
            c.config_resetstat()  # commandstats from here on count the drain only
        spawned = time.perf_counter()
        stack.start_workers(wait=False)
        with redis.client() as rc:
            if measure is not None:
                return {"fill_s": round(fill_s, 2), **measure(rc)}
            meter = _meter(stack, redis)
            snaps = [meter.snapshot()]
            deadline = time.monotonic() + (cap_s or sizes.e2e_cap_s)
            while snaps[-1].jobs < n and time.monotonic() < deadline:
                time.sleep(0.05)
                snaps.append(meter.snapshot(probe.read_progress(rc).count))
                stack.check_alive()
            time.sleep(probe.FLUSH_INTERVAL_S * 2)
            progress = probe.read_progress(rc)
            hist = probe.read_histogram(rc)
            commands = command_stats(rc, progress.count)
        with Client(stack.address) as client:
            deadline = time.monotonic() + 10
            while client.queue_stats().finished < progress.count and time.monotonic() < deadline:
                time.sleep(0.02)
        wall = time.perf_counter() - spawned
    done = progress.count
    steady = probe.count_window_rate(hist, done // 10, done - done // 10)
    return {
        "e2e_per_s": round(progress.rate_per_s),
        "e2e_jobs": progress.count,
        "e2e_steady_per_s": round(steady),  # jobs 10%..90%
        "e2e_wall_s_incl_worker_start": round(wall, 2),
        "e2e_cpu": cpu.window(snaps, n // 10, n - n // 10),  # jobs 10%..90%
        "e2e_redis_commands": commands,
    }


def e2e(redis: RedisServer, sizes: Sizes, settings: StackSettings) -> Metrics:
    """`e2e_jobs` queued first, then drained by the workers: handler starts per second."""
    return drain_rate(redis, sizes, settings, sizes.e2e_jobs, "e2e")


def e2e_node(
    redis: RedisServer, sizes: Sizes, settings: StackSettings, python_per_s: float
) -> Metrics:
    """`e2e` again with the Node SDK's worker processes (same count, concurrency and
    prefetch), right after the Python run: its rate and the ratio to the Python one."""
    node = drain_rate(
        redis, sizes, dataclasses.replace(settings, worker="node"), sizes.e2e_jobs, "e2e-node"
    )
    return {
        "e2e_node_per_s": node["e2e_per_s"],
        "e2e_node_steady_per_s": node["e2e_steady_per_s"],
        "e2e_node_cpu": node["e2e_cpu"],
        "e2e_node_vs_python": round(node["e2e_per_s"] / python_per_s, 2) if python_per_s else None,
    }


def latency(redis: RedisServer, sizes: Sizes, settings: StackSettings) -> Metrics:
    """Idle submit -> handler-start latency: one job at a time through SubmitJob, the
    next submitted once the previous one started (and a short pause)."""
    redis.flush()
    with GopherStack(redis.url, settings, "latency") as stack, redis.client() as rc:
        stack.start_workers()
        rpc_s: list[float] = []

        def submit(payload: dict[str, float]) -> None:
            client.submit_job(JOB_TYPE, payload)
            rpc_s.append(time.time() - payload["t"])

        with Client(stack.address) as client:
            samples = probe.sample_latency(
                rc, submit, sizes.latency_samples, sizes.latency_cap_s, sizes.latency_gap_s
            )
    # How much of the latency is the SubmitJob round trip itself (same samples).
    return {
        **latency_summary(samples),
        "submit_rpc_p50_ms": round(percentile(rpc_s[-len(samples) :], 50) * 1000, 3),
        "submit_rpc_p99_ms": round(percentile(rpc_s[-len(samples) :], 99) * 1000, 3),
    }
