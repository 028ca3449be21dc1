"""Runs the core scenarios for one peer, inside its virtualenv, and writes JSON.

    BENCH_REDIS_URL=redis://127.0.0.1:PORT/0 .peers-venv/bin/python \\
        -m benchmarks.peers.driver --system celery --sizes '{...}' --out result.json

The scenarios mirror Gopher's (benchmarks/gopher_core.py): enqueue one call at a time
and with the peer's batch API if it has one; used_memory per queued job with a 100-byte
payload, measured as for Gopher (benchmarks.stats.memory_per_job); end to end over
pre-enqueued jobs; idle submit->start latency one job at a time. A failing scenario
is recorded and the others still run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import time
import traceback
from pathlib import Path
from typing import Any

import redis

from benchmarks import job_io, probe, procs
from benchmarks.config import Sizes
from benchmarks.peers.base import REDIS_URL, Adapter
from benchmarks.stats import (
    MEMORY_SETTLE_S,
    latency_summary,
    memory_per_job,
    paced_summary,
    payload_of_size,
)

SYSTEMS = {
    "celery": "celery_app:CeleryAdapter",
    "dramatiq": "dramatiq_app:DramatiqAdapter",
    "rq": "rq_app:RQAdapter",
    "rq-fork": "rq_app:RQForkAdapter",
    "arq": "arq_app:ArqAdapter",
    "taskiq": "taskiq_app:TaskiqAdapter",
    "redis-py": "redis_list_app:RedisListAdapter",
}
# rq-fork differs from rq only in how workers run jobs.
WORKER_ONLY = {"rq-fork"}
Metrics = dict[str, Any]


def load(system: str) -> Adapter:
    """Import the adapter module (and so the peer) and make its adapter."""
    module, cls = SYSTEMS[system].split(":")
    adapter: Adapter = getattr(importlib.import_module(f"benchmarks.peers.{module}"), cls)()
    return adapter


class Workers:
    """The peer's worker processes for one scenario."""

    def __init__(self, adapter: Adapter, log: Path) -> None:
        env = {"BENCH_REDIS_URL": REDIS_URL, "PYTHONPATH": str(procs.ROOT), **adapter.worker_env()}
        self.procs: list[subprocess.Popen[bytes]] = [
            procs.spawn(cmd, env=env, log=log) for cmd in adapter.worker_commands()
        ]

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            procs.stop(proc, grace_s=5)


def enqueue(adapter: Adapter, sizes: Sizes, rc: Any, log: Path) -> Metrics:
    rc.flushall()
    n = sizes.enqueue_single_jobs
    out: Metrics = {
        "enqueue_single_per_s": round(n / adapter.enqueue_single(n, {})),
        "enqueue_single_concurrency": adapter.single_concurrency,
    }
    rc.flushall()
    bulk_s = adapter.enqueue_bulk(sizes.enqueue_bulk_jobs, {})
    if bulk_s is not None:
        out["enqueue_bulk_per_s"] = round(sizes.enqueue_bulk_jobs / bulk_s)
        out["enqueue_bulk_api"] = adapter.bulk_api
    return out


def memory(adapter: Adapter, sizes: Sizes, rc: Any, log: Path) -> Metrics:
    rc.flushall()
    time.sleep(0.2)
    payload = payload_of_size(sizes.payload_bytes)
    readings = [int(rc.info("memory")["used_memory"])]
    for _ in range(2):
        adapter.fill(sizes.memory_jobs, payload)
        time.sleep(MEMORY_SETTLE_S)
        readings.append(int(rc.info("memory")["used_memory"]))
    out = memory_per_job(readings, sizes.memory_jobs)
    # Both batches are still queued: keys per job over all of them.
    return {**out, "keys_per_job": round(int(rc.dbsize()) / (2 * sizes.memory_jobs), 2)}


def drain(
    adapter: Adapter, rc: Any, log: Path, n: int, cap_s: float, payload: dict[str, Any], key: str
) -> Metrics:
    """Queue `n` jobs, start the workers, count handler starts (`key`_per_s etc.)."""
    rc.flushall()
    adapter.fill(n, payload)
    with Workers(adapter, log):
        progress = probe.wait_for_count(rc, n, cap_s)
        hist = probe.read_histogram(rc)
    out: Metrics = {
        f"{key}_per_s": round(progress.rate_per_s),
        f"{key}_jobs": progress.count,
        f"{key}_steady_per_s": round(
            probe.count_window_rate(
                hist, progress.count // 10, progress.count - progress.count // 10
            )
        ),
    }
    if progress.count < n:
        out[f"{key}_note"] = f"{progress.count} of {n} jobs within the {cap_s:.0f}s cap"
    return out


def e2e(adapter: Adapter, sizes: Sizes, rc: Any, log: Path) -> Metrics:
    return drain(adapter, rc, log, sizes.e2e_jobs, sizes.e2e_cap_s, {}, "e2e")


def e2e_io(adapter: Adapter, sizes: Sizes, rc: Any, log: Path) -> Metrics:
    """e2e with the realistic body: one Redis INCR per job (benchmarks.job_io)."""
    out = drain(adapter, rc, log, sizes.io_e2e_jobs, sizes.io_e2e_cap_s, {"io": 1}, "e2e_io")
    out["e2e_io_incrs"] = job_io.count(REDIS_URL)
    return out


def loops(adapter: Adapter, sizes: Sizes, rc: Any, log: Path) -> Metrics:
    """One thread, one call at a time, no workers; then the bulk API in a plain loop."""
    rc.flushall()
    n = sizes.loop_jobs
    adapter.enqueue_one_at_a_time(100, {})  # connections up
    out: Metrics = {"loop_sync_per_s": round(n / adapter.enqueue_one_at_a_time(n, {}))}
    rc.flushall()
    bulk_s = adapter.enqueue_bulk(sizes.loop_bulk_jobs, {})
    if bulk_s is not None:
        out["loop_bulk_per_s"] = round(sizes.loop_bulk_jobs / bulk_s)
        out["loop_bulk_api"] = adapter.bulk_api
    return out


def paced(adapter: Adapter, sizes: Sizes, rc: Any, log: Path) -> Metrics:
    """Submit->start latency with `paced_rate` jobs/s offered to warm idle workers."""
    rc.flushall()
    with Workers(adapter, log):
        adapter.enqueue({"t": time.time()})  # readiness: wait for the first start
        if probe.pop_latency(rc, timeout_s=60) is None:
            raise TimeoutError("workers did not start a job within 60 s")
        probe.sample_latency(rc, adapter.enqueue, 20, 5.0, sizes.latency_gap_s, warmup=0)
        samples, offered = probe.sample_paced(
            rc, adapter.enqueue, sizes.paced_rate, sizes.paced_jobs
        )
    return paced_summary(samples, offered, sizes.paced_jobs)


def latency(adapter: Adapter, sizes: Sizes, rc: Any, log: Path) -> Metrics:
    rc.flushall()
    with Workers(adapter, log):
        adapter.enqueue({"t": time.time()})  # readiness: wait for the first start
        if probe.pop_latency(rc, timeout_s=60) is None:
            raise TimeoutError("workers did not start a job within 60 s")
        samples = probe.sample_latency(
            rc, adapter.enqueue, sizes.latency_samples, sizes.latency_cap_s, sizes.latency_gap_s
        )
    return latency_summary(samples)


SCENARIOS = {
    "enqueue": enqueue,
    "memory": memory,
    "e2e": e2e,
    "latency": latency,
    "loops": loops,
    "e2e_io": e2e_io,
    "paced": paced,
}


def run(system: str, sizes: Sizes, only: list[str], log: Path) -> dict[str, Any]:
    """All requested scenarios for one system; errors are recorded per scenario."""
    adapter = load(system)
    result: dict[str, Any] = {
        "system": adapter.name,
        "version": adapter.version,
        "notes": adapter.notes,
        "metrics": {},
        "errors": {},
    }
    rc = redis.Redis.from_url(REDIS_URL)
    try:
        for name, scenario in SCENARIOS.items():
            if (only and name not in only) or (
                system in WORKER_ONLY and name in ("enqueue", "memory", "loops")
            ):
                continue
            try:
                result["metrics"].update(scenario(adapter, sizes, rc, log))
            except Exception as exc:
                traceback.print_exc()
                result["errors"][name] = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        adapter.close()
        rc.flushall()
        rc.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--system", required=True, choices=sorted(SYSTEMS))
    parser.add_argument("--sizes", default="{}", help="JSON overrides of benchmarks.config.Sizes")
    parser.add_argument("--only", default="", help="comma-separated scenarios")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    procs.install_cleanup()
    raw = json.loads(args.sizes)
    raw = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    sizes = Sizes(**raw)
    out = Path(args.out)
    result = run(
        args.system, sizes, [s for s in args.only.split(",") if s], out.with_suffix(".workers.log")
    )
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
