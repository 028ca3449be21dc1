"""Gopher-only scenarios about scale and stability: dispatch with a large backlog,
promotion of many due scheduled jobs, and a soak at half of the measured peak."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import statistics
import threading
import time
from typing import Any

from benchmarks import probe, procs
from benchmarks.config import Sizes
from benchmarks.gopher_app import JOB_TYPE
from benchmarks.gopher_core import Metrics, drain_rate, submit_bulk
from benchmarks.gopher_stack import GopherStack, StackSettings
from benchmarks.procs import RedisServer
from benchmarks.stats import percentile
from gopher_client import AsyncClient, Client, submit_request
from gopher_server.store.keys import Keys

PARKED_TYPE = "bench.parked"  # no worker handles it: promoted jobs stay queued
# The broker's default cap on retained finished jobs (--max-finished). The soak lowers
# it so that it is reached in the first half of the warm-up: until then Redis grows by
# every finished job it keeps, which says nothing about steady state.
FINISHED_CAP_DEFAULT = 100_000


def backlog(redis: RedisServer, sizes: Sizes, settings: StackSettings) -> Metrics:
    """Dispatch rate over the same window of jobs with a small and a large backlog."""
    lo, hi = sizes.backlog_window

    def window(rc: Any) -> Metrics:
        progress = probe.wait_for_count(rc, hi, 120)
        if progress.count < hi:
            raise RuntimeError(f"only {progress.count} of {hi} jobs started within 120 s")
        return {
            "rate": probe.count_window_rate(probe.read_histogram(rc), lo, hi),
            "started": progress.count,
        }

    # Interleaved and best of `backlog_rounds`: other load on a shared machine only
    # ever slows a round down, so the best round is the least disturbed one.
    small: Metrics = {"rate": 0.0}
    large: Metrics = {"rate": 0.0}
    for i in range(sizes.backlog_rounds):
        s = drain_rate(redis, sizes, settings, sizes.backlog_small, f"backlog-small{i}", window)
        big = drain_rate(redis, sizes, settings, sizes.backlog_large, f"backlog-large{i}", window)
        small = max(small, s, key=lambda m: float(m["rate"]))
        large = max(large, big, key=lambda m: float(m["rate"]))
    slowdown = (1 - large["rate"] / small["rate"]) * 100 if small["rate"] else float("nan")
    return {
        "backlog_small_jobs": sizes.backlog_small,
        "backlog_small_per_s": round(small["rate"]),
        "backlog_large_jobs": sizes.backlog_large,
        "backlog_large_per_s": round(large["rate"]),
        "backlog_large_fill_s": large.get("fill_s"),
        "backlog_slowdown_pct": round(slowdown, 1),
    }


def sweep(redis: RedisServer, sizes: Sizes, settings: StackSettings) -> Metrics:
    """e2e rate and CPU per job with more slots per worker, and with prefetch: the no-op
    pipeline is bound by the dispatch -> run -> ack -> refill round trip."""
    out: dict[str, Any] = {}
    variants = [(c, 1) for c in sizes.sweep_concurrency] + [(16, sizes.sweep_prefetch)]
    for per_worker, prefetch in variants:
        wider = dataclasses.replace(settings, concurrency=per_worker, prefetch=prefetch)
        m = drain_rate(redis, sizes, wider, sizes.e2e_jobs, f"sweep{per_worker}x{prefetch}")
        label = str(per_worker * settings.workers) + (
            f" prefetch {prefetch}" if prefetch > 1 else ""
        )
        out[label] = {
            "e2e_per_s": m["e2e_per_s"],
            "cpu_us_per_job": m["e2e_cpu"].get("cpu_us_per_job", {}),
        }
    return {"e2e_by_total_concurrency": out}


def promotion(
    redis: RedisServer, sizes: Sizes, settings: StackSettings, bulk_per_s: float
) -> Metrics:
    """`promote_jobs` scheduled jobs (of a type no worker runs) all fall due at T; ready
    jobs are submitted one at a time from T-1.5 s and their submit->start latency shows
    how much the promotion delays dispatch."""
    n = sizes.promote_jobs
    redis.flush()
    scheduled_key = Keys().scheduled()
    fill_estimate_s = n / max(bulk_per_s, 2_000)
    due = time.time() + 2 * fill_estimate_s + 3
    run_at = dt.datetime.fromtimestamp(due, dt.UTC)
    samples: list[tuple[float, float]] = []  # (submitted at, latency s)
    with GopherStack(redis.url, settings, "promotion") as stack, redis.client() as rc:
        stack.start_workers()
        fill_s = asyncio.run(submit_bulk(stack.address, n, {}, sizes, PARKED_TYPE, run_at))
        if int(rc.zcard(scheduled_key)) < n:
            raise RuntimeError("scheduled jobs became due before the fill finished")
        time.sleep(max(0.0, due - 1.5 - time.time()))
        promoted_at: float | None = None
        with Client(stack.address) as client:
            end = due + 30
            while time.time() < end:
                t = time.time()
                client.submit_job(JOB_TYPE, {"t": t})
                sample = probe.pop_latency(rc, timeout_s=10)
                if sample is None:
                    raise TimeoutError("a ready job did not start within 10 s during promotion")
                samples.append((t, sample))
                if promoted_at is None and t > due and int(rc.zcard(scheduled_key)) == 0:
                    promoted_at = time.time()
                    end = min(end, promoted_at + 1.0)
                time.sleep(sizes.promote_probe_gap_s)
    before = [s for t, s in samples if t < due]
    during = [s for t, s in samples if t >= due and (promoted_at is None or t <= promoted_at)]
    return {
        "promote_jobs": n,
        "promote_fill_s": round(fill_s, 2),
        "promotion_s": round(promoted_at - due, 2) if promoted_at else None,
        "promotion_baseline_p50_ms": round(percentile(before, 50) * 1000, 2),
        "promotion_ready_p50_ms": round(percentile(during, 50) * 1000, 2),
        "promotion_ready_delay_ms": round(max(during, default=float("nan")) * 1000, 1),
        "promotion_probe_samples": len(during),
    }


async def _paced_submit(address: str, rate_per_s: float, duration_s: float) -> int:
    """Submit at `rate_per_s` (batches every 20 ms) for `duration_s`; return jobs sent."""
    tick_s = 0.02
    per_tick = rate_per_s * tick_s
    sent, owed = 0, 0.0
    start = time.monotonic()
    async with AsyncClient(address) as client:
        tick = 0
        while (now := time.monotonic()) - start < duration_s:
            owed += per_tick
            k = int(owed)
            owed -= k
            if k:
                await client.submit_jobs([submit_request(JOB_TYPE, {}) for _ in range(k)])
                sent += k
            tick += 1
            await asyncio.sleep(max(0.0, start + tick * tick_s - now))
    return sent


def saw_tooth_growth_pct(values: list[float]) -> float:
    """Growth from the first third of `values` to the last third, by their means.

    Redis memory in the soak is a saw-tooth: the janitor trims finished jobs every 5 s,
    so it swings by the ~35,000 jobs finished between passes (about ±15%). Samples
    every 2-5 s alias with that cycle, and a few samples at each end can land on a
    peak at one end and a trough at the other; means over thirds of the window span
    many cycles and leave only a real trend."""
    third = max(1, len(values) // 3)
    first = statistics.fmean(values[:third])
    last = statistics.fmean(values[-third:])
    return round((last - first) / first * 100, 1) if first else float("nan")


def soak(redis: RedisServer, sizes: Sizes, settings: StackSettings, peak_per_s: float) -> Metrics:
    """Submit at `soak_fraction` of the e2e peak for `soak_s`, sampling broker and worker
    RSS (/proc), Redis used_memory and the retained finished jobs. RSS growth compares
    the first samples after the warm-up with the last ones (medians of three); Redis
    growth starts once the warm-up is over and the finished-jobs cap is reached."""
    redis.flush()
    rate = max(100.0, peak_per_s * sizes.soak_fraction)
    cap = int(min(FINISHED_CAP_DEFAULT, max(1_000, rate * sizes.soak_warmup_s / 2)))
    flags = [*settings.server_flags, "--max-finished", str(cap)]
    settings = dataclasses.replace(settings, server_flags=flags)
    finished_key = Keys().finished()
    rows: list[dict[str, float]] = []
    with GopherStack(redis.url, settings, "soak") as stack, redis.client() as rc:
        stack.start_workers()
        pids = stack.pids
        stop = threading.Event()

        def sample() -> None:
            started = time.monotonic()
            while not stop.wait(sizes.soak_sample_s):
                rss = {role: procs.rss_bytes(pid) for role, pid in pids.items()}
                rows.append(
                    {
                        "t": time.monotonic() - started,
                        "rss": sum(rss.values()),
                        **{f"rss_{role}": v for role, v in rss.items()},
                        "redis": redis.used_memory(),
                        "finished": int(rc.zcard(finished_key)),
                        "done": probe.read_progress(rc).count,
                    }
                )

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            sent = asyncio.run(_paced_submit(stack.address, rate, sizes.soak_s))
            time.sleep(1.0)
        finally:
            stop.set()
            sampler.join()
        done = probe.read_progress(rc).count
        with Client(stack.address) as client:
            retained = client.queue_stats().finished
    steady = [r for r in rows if r["t"] >= sizes.soak_warmup_s] or rows

    def growth(key: str) -> float:
        first = statistics.median(r[key] for r in steady[:3])
        last = statistics.median(r[key] for r in steady[-3:])
        return round((last - first) / first * 100, 1) if first else float("nan")

    capped = next((r["t"] for r in rows if r["finished"] >= cap), None)
    redis_window = [r for r in steady if capped is not None and r["t"] >= capped] or steady

    def per_100k(key: str) -> float:
        jobs = steady[-1]["done"] - steady[0]["done"]
        grown = steady[-1][key] - steady[0][key]
        return round(grown / 2**20 / jobs * 100_000, 2) if jobs else float("nan")

    return {
        "soak_s": sizes.soak_s,
        "soak_target_per_s": round(rate),
        "soak_achieved_per_s": round(done / sizes.soak_s),
        "soak_sent": sent,
        "soak_completed": done,
        "soak_rss_growth_pct": growth("rss"),
        # Per process: growth in % and MiB per 100k jobs, to tell a leak from warm-up.
        "soak_rss_by_process": {
            role: {
                "growth_pct": growth(f"rss_{role}"),
                "mib_end": round(steady[-1][f"rss_{role}"] / 2**20, 1),
                "mib_per_100k_jobs": per_100k(f"rss_{role}"),
            }
            for role in pids
        },
        "soak_redis_growth_pct": saw_tooth_growth_pct([r["redis"] for r in redis_window]),
        "soak_redis_mib_end": round(steady[-1]["redis"] / 2**20, 1),
        "soak_redis_window_s": [round(redis_window[0]["t"], 1), round(redis_window[-1]["t"], 1)],
        "soak_finished_cap": cap,
        "soak_finished_cap_reached_s": None if capped is None else round(capped, 1),
        "soak_finished_retained": retained,
        "soak_redis_note": (
            f"broker run with --max-finished {cap} (default {FINISHED_CAP_DEFAULT}) so the"
            " janitor's cap on retained finished jobs is reached early; Redis growth compares"
            " the mean of the last third of the window (after the warm-up and after the cap"
            " was reached) with the mean of its first third"
            if capped is not None
            else f"the finished-jobs cap ({cap}) was never reached: Redis growth over the"
            " post-warm-up window includes finished jobs still accumulating"
        ),
        "soak_samples": [
            {
                "t": round(r["t"], 1),
                "rss_mib": round(r["rss"] / 2**20, 1),
                **{
                    k[4:] + "_mib": round(v / 2**20, 1)
                    for k, v in r.items()
                    if k.startswith("rss_")
                },
                "redis_mib": round(r["redis"] / 2**20, 1),
                "finished": int(r["finished"]),
                "done": int(r["done"]),
            }
            for r in rows
        ],
    }
