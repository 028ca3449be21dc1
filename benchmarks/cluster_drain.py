"""One e2e drain against a deployment (benchmarks.cluster_topology), metered per node:
the e2e scenario of benchmarks.gopher_core (jobs queued first, then drained by the
workers, handler starts counted by the probe), with every redis-server's CPU, command
and bus counters, and optionally each one inside a CPU-quota cgroup whose throttling
is read alongside."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import time
from pathlib import Path
from typing import Any

from benchmarks import cgroup, probe, redis_nodes
from benchmarks.cluster_topology import Cluster, Topology
from benchmarks.config import QUICK
from benchmarks.gopher_core import submit_bulk
from benchmarks.gopher_stack import GopherStack, StackSettings
from benchmarks.procs import RedisServer, cpu_seconds

SAMPLE_S = 0.05
CGROUP_PREFIX = "gopher-bench-"
QUARTERS = 4  # a saturated shard is throttled in every quarter of the window
SATURATED_CORES = 0.9  # a broker or worker process this busy may be the limit instead


@dataclasses.dataclass(frozen=True)
class DrainSpec:
    """What one run does: jobs, submit batch, the stack, and the CPU quota (0 = none)."""

    jobs: int
    batch: int
    settings: StackSettings
    quota_cores: float = 0.0
    period_us: int = cgroup.PERIOD_US
    cap_s: float = 90.0


@dataclasses.dataclass
class Sample:
    """Everything read at one moment of the drain."""

    t: float
    jobs: int
    nodes: redis_nodes.CpuSample
    stack_cpu: dict[str, float]
    host_ticks: tuple[int, int]
    throttle: dict[str, cgroup.CpuStat]


def _host_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _window(samples: list[Sample], lo: int, hi: int) -> list[Sample] | None:
    """The samples from the first that reached `lo` jobs to the first that reached `hi`."""
    first = next((i for i, s in enumerate(samples) if s.jobs >= lo), None)
    last = next((i for i, s in enumerate(samples) if s.jobs >= hi), len(samples) - 1)
    if first is None or last <= first:
        return None
    a, b = samples[first], samples[last]
    if b.jobs <= a.jobs or b.t <= a.t:
        return None
    return samples[first : last + 1]


def throttling(window: list[Sample], quota: float, period_us: int) -> dict[str, Any]:
    """Per shard throttling over the window's samples, and whether every shard stayed
    saturated: its nr_throttled rose in each quarter of the window (design §12.4,
    "keep rising"), not merely somewhere in it. Also how much of its quota each shard
    used."""
    a, b = window[0], window[-1]
    span = b.t - a.t
    quarters = [window[round(i * (len(window) - 1) / QUARTERS)] for i in range(QUARTERS + 1)]
    shards: dict[str, dict[str, Any]] = {}
    for n in a.throttle:
        info: dict[str, Any] = dict(cgroup.throttled_between(a.throttle[n], b.throttle[n]))
        rises = [
            y.throttle[n].nr_throttled > x.throttle[n].nr_throttled
            for x, y in itertools.pairwise(quarters)
        ]
        info["quarters_throttled"] = sum(rises)
        info["quota_used"] = round((b.nodes.cpu_s[n] - a.nodes.cpu_s[n]) / span / quota, 3)
        shards[n] = info
    unsaturated = [n for n, v in shards.items() if v["quarters_throttled"] < QUARTERS]
    return {
        "quota_cores": quota,
        "period_us": period_us,
        "shards": shards,
        "valid": bool(shards) and not unsaturated,
        "not_saturated": unsaturated,
    }


def _stack_use(a: Sample, b: Sample) -> dict[str, Any]:
    """Cores busy per broker/worker process and on the whole host in the window."""
    span = b.t - a.t
    cores = {r: round((b.stack_cpu[r] - a.stack_cpu[r]) / span, 3) for r in a.stack_cpu}
    busy = (b.host_ticks[0] - a.host_ticks[0]) / max(1, b.host_ticks[1] - a.host_ticks[1])
    return {
        "process_cores": cores,
        "host_busy_fraction": round(busy, 3),
        "saturated_processes": [r for r, c in cores.items() if c >= SATURATED_CORES],
    }


def drain(topo: Topology, probe_redis: RedisServer, spec: DrainSpec, tag: str) -> dict[str, Any]:
    """Queue `spec.jobs`, then start the workers and meter the drain."""
    topo.flush()
    with probe_redis.client() as pc:
        pc.flushall()
    settings = dataclasses.replace(
        spec.settings,
        server_flags=[*spec.settings.server_flags, *topo.server_flags],
        probe_url=probe_redis.url,
    )
    sizes = dataclasses.replace(QUICK, bulk_batch_size=spec.batch)
    quotas: dict[str, cgroup.CpuQuota] = {}
    with GopherStack(topo.url, settings, tag) as stack, contextlib.ExitStack() as cleanup:
        fill_s = asyncio.run(submit_bulk(stack.address, spec.jobs, {}, sizes))
        if spec.quota_cores:
            for node in topo.nodes:
                name = f"{CGROUP_PREFIX}{node.port}"
                quota = cgroup.CpuQuota(name, spec.quota_cores, spec.period_us)
                cleanup.callback(quota.close)
                quota.add(node.pid)
                quotas[node.name] = quota
        redis_nodes.reset_stats(topo.nodes)
        before = {n.name: redis_nodes.read_counters(n, topo.cluster) for n in topo.nodes}
        stack.start_workers(wait=False)
        samples: list[Sample] = []
        with probe_redis.client() as pc:

            def sample() -> Sample:
                jobs = probe.read_progress(pc).count
                now = time.monotonic()
                return Sample(
                    now,
                    jobs,
                    redis_nodes.sample_cpu(topo.nodes, now, jobs),
                    {r: cpu_seconds(p) for r, p in stack.pids.items()},
                    _host_ticks(),
                    {name: q.stat() for name, q in quotas.items()},
                )

            samples.append(sample())
            deadline = time.monotonic() + spec.cap_s
            while samples[-1].jobs < spec.jobs and time.monotonic() < deadline:
                time.sleep(SAMPLE_S)
                samples.append(sample())
                stack.check_alive()
            time.sleep(probe.FLUSH_INTERVAL_S * 2)
            progress = probe.read_progress(pc)
            hist = probe.read_histogram(pc)
        after = {n.name: redis_nodes.read_counters(n, topo.cluster) for n in topo.nodes}
    done = progress.count
    lo, hi = spec.jobs // 10, spec.jobs - spec.jobs // 10
    window = _window(samples, lo, hi)
    out: dict[str, Any] = {
        "deployment": topo.name,
        "masters": topo.masters,
        "cluster": topo.cluster,
        "jobs": spec.jobs,
        "jobs_done": done,
        "submit_batch": spec.batch,
        "fill_s": round(fill_s, 2),
        "e2e_per_s": round(progress.rate_per_s),
        "e2e_steady_per_s": round(probe.count_window_rate(hist, done // 10, done - done // 10)),
        "nodes": {n: redis_nodes.node_report(before[n], after[n], done) for n in before},
    }
    if isinstance(topo, Cluster):
        out.update(topo.placement())
    if window is None:
        out["error"] = "too few samples between the 10% and 90% marks"
        return out
    a, b = window[0], window[-1]
    out["redis_cpu"] = redis_nodes.shard_cpu(a.nodes, b.nodes)
    out["stack"] = _stack_use(a, b)
    if spec.quota_cores:
        out["throttling"] = throttling(window, spec.quota_cores, spec.period_us)
    return out
