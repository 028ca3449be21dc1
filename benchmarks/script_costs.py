"""Per-script Redis costs on one node, for the cluster model: the broker's own store
(gopher_server.store) runs submit with batches of 1, 16 and 1,000 jobs, dispatch
leasing 1, 16 and 64 and ack with batches of 1 and 16 against a standalone
redis-server, and `INFO commandstats` gives the script time (evalsha usec) per call.
A straight line through the points of each script gives its c_call and c_item
(benchmarks.cluster_model.fit_linear)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from benchmarks import cluster_model
from benchmarks.redis_nodes import SCRIPT_COMMANDS, Node, command_delta, read_counters
from gopher_server.clock import SystemClock
from gopher_server.store.keys import Keys
from gopher_server.store.records import Lease, NewJob
from gopher_server.store.store import Store

JOB_TYPE = "bench.noop"
SUBMIT_BATCHES = (1, 16, 1000)
DISPATCH_BATCHES = (1, 16, 64)
ACK_BATCHES = (1, 16)
# Jobs each measurement handles: enough calls that commandstats' µs granularity and the
# first calls' script loading do not matter, few enough for seconds in all.
JOBS_PER_POINT = 4096


def _job() -> NewJob:
    return NewJob(id=uuid.uuid4().hex, type=JOB_TYPE, priority="normal", payload="{}", retries=3)


def _script_time(node: Node, before: Any) -> tuple[int, int]:
    """(calls, usec) of the scripts since `before`."""
    delta = command_delta(before, read_counters(node, cluster=False))
    calls = sum(c for name, (c, _) in delta.items() if name in SCRIPT_COMMANDS)
    usec = sum(u for name, (_, u) in delta.items() if name in SCRIPT_COMMANDS)
    return calls, usec


async def _measure(node: Node, jobs: int) -> dict[str, list[dict[str, float]]]:
    client = aioredis.Redis(host="127.0.0.1", port=node.port, decode_responses=True)
    store = Store(client, SystemClock(), Keys())
    out: dict[str, list[dict[str, float]]] = {"submit": [], "dispatch": [], "ack": []}

    async def point(
        script: str, batch: int, call: Callable[[Any], Awaitable[Any]], args: list[Any]
    ) -> None:
        before = read_counters(node, cluster=False)
        for arg in args:
            await call(arg)
        n, usec = _script_time(node, before)
        out[script].append({"batch": batch, "calls": n, "usec_per_call": round(usec / n, 3)})

    try:
        await client.flushall()
        # Load the three scripts (a first call compiles them) before anything is timed.
        await store.submit([_job()])
        first = await store.dispatch("warm-up", "s1", 1, [JOB_TYPE])
        await store.ack([(x.job_id, x.token, "") for x in first.leases])
        for b in SUBMIT_BATCHES:
            batches = [[_job() for _ in range(b)] for _ in range(-(-jobs // b))]
            await point("submit", b, store.submit, batches)
        leases: list[Lease] = []
        for b in DISPATCH_BATCHES:
            workers = [f"w{b}-{i}" for i in range(max(1, jobs // b))]

            async def lease(worker: str, b: int = b) -> None:
                result = await store.dispatch(worker, "s1", b, [JOB_TYPE])
                if len(result.leases) != b:
                    raise RuntimeError(f"dispatch leased {len(result.leases)} of {b}")
                leases.extend(result.leases)

            await point("dispatch", b, lease, workers)
        for b in ACK_BATCHES:
            take = (jobs // b) * b
            mine, leases = leases[:take], leases[take:]
            items = [(x.job_id, x.token, "") for x in mine]
            ack_batches = [items[i : i + b] for i in range(0, len(items), b)]
            await point("ack", b, store.ack, ack_batches)
    finally:
        await store.close()
        await client.aclose()
    return out


def measure(node: Node, jobs: int = JOBS_PER_POINT) -> dict[str, Any]:
    """Usec per call of each script at each batch size, and each script's linear fit."""
    points = asyncio.run(_measure(node, jobs))
    fits = {
        name: cluster_model.fit_linear([(p["batch"], p["usec_per_call"]) for p in rows])
        for name, rows in points.items()
    }
    return {
        "points": points,
        "fits": {name: vars(f) for name, f in fits.items()},
        "item_us": round(sum(f.c_item for f in fits.values()), 3),
        "call_us": round(sum(f.c_call for f in fits.values()) / len(fits), 3),
    }
