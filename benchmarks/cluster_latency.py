"""Idle submit -> handler-start latency on one Redis and on a 3-master Redis Cluster,
side by side in one run (`python -m benchmarks.cluster_latency`).

The same stack (one broker, the usual workers) runs the latency scenario of
benchmarks.gopher_core against each deployment in turn, twice, interleaved, so load
drifting on the machine biases neither. The probe the workers write to is a separate
plain Redis in both cases, so the measured path is the same apart from the cluster.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from benchmarks import probe
from benchmarks.cluster_topology import Cluster, Standalone, Topology
from benchmarks.gopher_app import JOB_TYPE
from benchmarks.gopher_stack import GopherStack, StackSettings
from benchmarks.machine import facts
from benchmarks.procs import RedisServer
from benchmarks.stats import latency_summary, percentile
from gopher_client import Client

PARTITIONS = 12


def measure(deployment: Topology, probe_redis: RedisServer, samples: int) -> dict[str, Any]:
    """p50/p99 of idle submit->start on `deployment`."""
    deployment.flush()
    probe_redis.flush()
    settings = StackSettings(server_flags=list(deployment.server_flags), probe_url=probe_redis.url)
    with (
        GopherStack(deployment.url, settings, f"latency-{deployment.name}") as stack,
        probe_redis.client() as rc,
    ):
        stack.start_workers()
        with Client(stack.address) as client:
            kept = probe.sample_latency(
                rc, lambda payload: client.submit_job(JOB_TYPE, payload), samples, 30.0, 0.005
            )
    return latency_summary(kept)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cluster_latency")
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args(argv)
    probe_redis = RedisServer()
    probe_redis.start()
    runs: dict[str, list[dict[str, Any]]] = {"standalone": [], "cluster-3": []}
    try:
        with Standalone() as one, Cluster(3, PARTITIONS) as three:
            for _ in range(2):  # interleaved: A B A B
                runs["standalone"].append(measure(one, probe_redis, args.samples))
                runs["cluster-3"].append(measure(three, probe_redis, args.samples))
    finally:
        probe_redis.stop()
    p50 = {name: percentile([r["latency_p50_ms"] for r in rs], 50) for name, rs in runs.items()}
    out = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": facts(),
        "partitions": PARTITIONS,
        "runs": runs,
        "p50_ratio_cluster_vs_standalone": round(p50["cluster-3"] / p50["standalone"], 2),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
