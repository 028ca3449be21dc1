"""Per-node Redis meters for the cluster benchmark: each redis-server's CPU from
/proc/<pid>/stat, its `INFO commandstats` and `INFO stats` counters and, on a cluster
node, `CLUSTER INFO`'s bus message counters, read the same way on every node so runs
on a standalone server and on 1, 2 or 3 masters compare directly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from benchmarks.procs import cpu_seconds

SCRIPT_COMMANDS = ("evalsha", "eval", "fcall", "evalsha_ro", "eval_ro")
# The harness's own reads of the node, and the handshake each new connection makes
# (the meter opens one per read); never counted as the workload's commands.
METER_COMMANDS = ("info", "cluster|info", "config|resetstat", "hello", "client|setinfo")


@dataclass(frozen=True)
class Node:
    """One redis-server the benchmark measures: where it listens and its process id."""

    name: str
    port: int
    pid: int

    def client(self) -> redis.Redis:
        """A plain (non-cluster) client on this node alone; close it after use."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)


@dataclass(frozen=True)
class Counters:
    """A node's command and bus counters at one moment."""

    commands: dict[str, tuple[int, int]]  # command -> (calls, usec)
    bus_sent: int
    bus_received: int
    net_in: int
    net_out: int


def parse_commandstats(info: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """INFO commandstats (as redis-py parses it) as command -> (calls, usec)."""
    out: dict[str, tuple[int, int]] = {}
    for key, value in info.items():
        if key.startswith("cmdstat_") and isinstance(value, dict):
            out[key.removeprefix("cmdstat_")] = (int(value["calls"]), int(value["usec"]))
    return out


def parse_cluster_info(text: str) -> dict[str, str]:
    """CLUSTER INFO's `name:value` lines as a dict."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.strip().partition(":")
        if sep:
            out[name] = value
    return out


def read_counters(node: Node, cluster: bool) -> Counters:
    """The node's counters now (bus counters 0 on a standalone server)."""
    with node.client() as c:
        commands = parse_commandstats(c.info("commandstats"))
        stats = c.info("stats")
        bus = {}
        if cluster:
            raw = c.execute_command("CLUSTER", "INFO")
            bus = parse_cluster_info(raw.decode() if isinstance(raw, bytes) else str(raw))
    return Counters(
        commands,
        int(bus.get("cluster_stats_messages_sent", 0)),
        int(bus.get("cluster_stats_messages_received", 0)),
        int(stats.get("total_net_input_bytes", 0)),
        int(stats.get("total_net_output_bytes", 0)),
    )


def reset_stats(nodes: list[Node]) -> None:
    """CONFIG RESETSTAT on every node: commandstats from here on count the workload."""
    for node in nodes:
        with node.client() as c:
            c.config_resetstat()


def command_delta(before: Counters, after: Counters) -> dict[str, tuple[int, int]]:
    """(calls, usec) per command between two readings, the harness's own reads left out."""
    out: dict[str, tuple[int, int]] = {}
    for name, (calls, usec) in after.commands.items():
        if name in METER_COMMANDS:
            continue
        c0, u0 = before.commands.get(name, (0, 0))
        if calls - c0 > 0:
            out[name] = (calls - c0, usec - u0)
    return out


def node_report(before: Counters, after: Counters, jobs: int) -> dict[str, Any]:
    """Per job on one node: script calls and usec (evalsha), other commands and usec,
    bus messages sent + received, network bytes; plus the busiest commands."""
    delta = command_delta(before, after)
    n = max(1, jobs)
    scripts = [v for k, v in delta.items() if k in SCRIPT_COMMANDS]
    others = [v for k, v in delta.items() if k not in SCRIPT_COMMANDS]
    top = sorted(delta.items(), key=lambda kv: -kv[1][1])[:8]
    bus = (after.bus_sent - before.bus_sent) + (after.bus_received - before.bus_received)
    return {
        "script_calls_per_job": round(sum(c for c, _ in scripts) / n, 4),
        "script_usec_per_job": round(sum(u for _, u in scripts) / n, 2),
        "other_calls_per_job": round(sum(c for c, _ in others) / n, 4),
        "other_usec_per_job": round(sum(u for _, u in others) / n, 2),
        "bus_messages": bus,
        "bus_messages_per_job": round(bus / n, 4),
        "net_bytes_per_job": round(
            (after.net_in - before.net_in + after.net_out - before.net_out) / n, 1
        ),
        "top": [[name, round(c / n, 4), round(u / n, 2)] for name, (c, u) in top],
    }


@dataclass
class CpuSample:
    """Every node's CPU seconds at one moment, with the jobs started by then."""

    t: float
    jobs: int
    cpu_s: dict[str, float]


def sample_cpu(nodes: list[Node], t: float, jobs: int) -> CpuSample:
    """CPU seconds (utime + stime) of each node's process now."""
    return CpuSample(t, jobs, {n.name: cpu_seconds(n.pid) for n in nodes})


def cpu_window(samples: list[CpuSample], lo: int, hi: int) -> tuple[CpuSample, CpuSample] | None:
    """The first samples that reached `lo` and `hi` jobs (None without such a span)."""
    a = next((s for s in samples if s.jobs >= lo), None)
    b = next((s for s in samples if s.jobs >= hi), samples[-1] if samples else None)
    if a is None or b is None or b.jobs <= a.jobs or b.t <= a.t:
        return None
    return a, b


def shard_cpu(a: CpuSample, b: CpuSample) -> dict[str, Any]:
    """Redis CPU per job in a window: per node, summed, the busiest node's share, and
    the cores each node was busy."""
    jobs = b.jobs - a.jobs
    span = b.t - a.t
    used = {name: b.cpu_s[name] - a.cpu_s[name] for name in a.cpu_s}
    total = sum(used.values())
    per_job = {name: round(v / jobs * 1e6, 2) for name, v in used.items()}
    return {
        "window_jobs": jobs,
        "window_s": round(span, 3),
        "jobs_per_s": round(jobs / span),
        "redis_us_per_job": round(total / jobs * 1e6, 2),
        "shard_us_per_job": per_job,
        "shard_cores": {name: round(v / span, 3) for name, v in used.items()},
        "busiest_share": round(max(used.values()) / total, 3) if total > 0 else 0.0,
        "shards": len(used),
    }
