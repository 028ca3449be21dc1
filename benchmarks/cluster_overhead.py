"""`python -m benchmarks.cluster_overhead`: where a cluster's extra Redis CPU per job
comes from, with no broker, no workers and no contention.

One client drives the broker's own store (gopher_server.store) through the same work on
each deployment: N no-op jobs submitted in batches of 500, then leased 64 at a time by
4 workers and acked, one call after another, so only one node is ever busy. The
deployments separate the causes: partitions on one server (P = 12 against P = 1),
cluster mode itself (a 1-master cluster, `#!lua` scripts, against the same on one
server), and more masters (3 against 1). Redis CPU per job is utime + stime of every
redis-server (`/proc/<pid>/stat`) over the run; rounds alternate to keep drift off any
one deployment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis

from benchmarks import machine
from benchmarks.procs import RedisServer, cpu_seconds
from gopher_server.clock import SystemClock
from gopher_server.embedded_cluster import EmbeddedCluster
from gopher_server.store.cluster import ClusterRoutes, ClusterScripts, cluster_client
from gopher_server.store.partitions import Layout
from gopher_server.store.records import NewJob
from gopher_server.store.sharded_pubsub import ShardedPubSub
from gopher_server.store.store import Store

BATCH = 500
CAPACITY = 64
WORKERS = 4
JOB_TYPE = "noop"


def _job() -> NewJob:
    return NewJob(id=uuid.uuid4().hex, type=JOB_TYPE, priority="normal", payload="{}", retries=3)


async def _drive(store: Store, jobs: int) -> None:
    for _ in range(0, jobs, BATCH):
        await store.submit([_job() for _ in range(BATCH)])
    done = 0
    while done < jobs:
        before = done
        for worker in range(WORKERS):
            leased = (await store.dispatch(f"w{worker}", "s1", CAPACITY, [JOB_TYPE])).leases
            codes = await store.ack([(x.job_id, x.token, "") for x in leased])
            done += codes.count("ok")
        if done == before:
            raise RuntimeError(f"the drain stopped at {done} of {jobs} jobs")


@asynccontextmanager
async def _standalone(port: int, partitions: int) -> AsyncIterator[Store]:
    client = aioredis.Redis(port=port, decode_responses=True)
    await client.flushall()
    store = Store(client, SystemClock(), layout=Layout("gopher", partitions))
    try:
        yield store
    finally:
        await store.close()
        await client.aclose()


@asynccontextmanager
async def _clustered(cluster: EmbeddedCluster, partitions: int) -> AsyncIterator[Store]:
    client = cluster_client(cluster.seed_url)
    await client.initialize()
    for node in client.get_primaries():
        await client.flushall(target_nodes=node)
    routes = ClusterRoutes(client)
    store = Store(
        client,  # type: ignore[arg-type]  # the same command methods
        SystemClock(),
        layout=Layout("gopher", partitions),
        scripts=ClusterScripts(routes, durable=False),
        pubsub=lambda: ShardedPubSub(routes),
        cluster=True,
    )
    try:
        yield store
    finally:
        await store.close()
        await client.aclose()


async def _measure(make: Any, pids: list[int], jobs: int) -> float:
    """Redis CPU µs per job of one run (after a warm-up job that loads the scripts)."""
    async with make() as store:
        await _drive(store, BATCH)  # loads the scripts; not counted
        before = sum(cpu_seconds(p) for p in pids)
        await _drive(store, jobs)
        return round(1e6 * (sum(cpu_seconds(p) for p in pids) - before) / jobs, 2)


async def measure(jobs: int, rounds: int) -> dict[str, Any]:
    alone = RedisServer()
    alone.start()
    one = EmbeddedCluster(masters=1).start()
    three = EmbeddedCluster(masters=3).start()
    try:
        port = alone.port
        assert alone.proc is not None  # started above
        alone_pid = alone.proc.pid
        deployments: dict[str, tuple[Any, list[int]]] = {
            "standalone P=1": (lambda: _standalone(port, 1), [alone_pid]),
            "standalone P=12": (lambda: _standalone(port, 12), [alone_pid]),
            "cluster-1 P=1": (lambda: _clustered(one, 1), [n.process.pid for n in one.nodes]),
            "cluster-1 P=12": (lambda: _clustered(one, 12), [n.process.pid for n in one.nodes]),
            "cluster-3 P=12": (
                lambda: _clustered(three, 12),
                [n.process.pid for n in three.nodes],
            ),
        }
        runs: dict[str, list[float]] = {name: [] for name in deployments}
        for r in range(rounds):
            order = list(deployments) if r % 2 == 0 else list(deployments)[::-1]
            for name in order:
                make, pids = deployments[name]
                runs[name].append(await _measure(make, pids, jobs))
                print(f"  {name:16s} {runs[name][-1]:6.2f} µs/job", flush=True)
    finally:
        alone.stop()
        one.stop()
        three.stop()
    base = sum(runs["standalone P=1"]) / rounds
    return {
        "machine": machine.facts(),
        "jobs": jobs,
        "rounds": rounds,
        "us_per_job": {n: round(sum(v) / rounds, 2) for n, v in runs.items()},
        "vs_standalone": {n: round(sum(v) / rounds / base, 3) for n, v in runs.items()},
        "by_round": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.jobs, args.rounds)), indent=2))


if __name__ == "__main__":
    main()
