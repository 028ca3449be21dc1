"""The worker registry: who is connected, with which types, capacity and load."""

from __future__ import annotations

from typing import Any

import orjson

from gopher_server.store._text import scored, texts
from gopher_server.store.records import WorkerRecord
from gopher_server.store.store import Store


async def register_stream(
    store: Store,
    worker_id: str,
    session_id: str,
    *,
    hostname: str,
    pid: int,
    job_types: list[str],
    capacity: int,
) -> None:
    """Record a newly opened stream of a worker."""
    keys, now = store.keys, store.clock.now_ms()
    info: dict[Any, Any] = {
        "hostname": hostname,
        "pid": pid,
        "types": orjson.dumps(job_types).decode(),
        "capacity": capacity,
        "connected": now,
    }
    async with store.redis.pipeline(transaction=True) as pipe:
        pipe.hset(keys.worker(worker_id), mapping=info)
        pipe.zadd(keys.workers(), {worker_id: now})
        await pipe.execute()
    # Each partition's scripts read the stream table and the holds of their own slot
    # (a lease's expiry asks whether its stream is alive), so both are kept per
    # partition: one write each per stream event, never per job.
    async with store.redis.pipeline(transaction=False) as pipe:
        for part in store.parts:
            pipe.hset(part.keys.worker_streams(worker_id), session_id, now)
            pipe.hdel(part.keys.worker_holds(), worker_id)  # a fresh stream: a sign of life
        await pipe.execute()


async def set_capacity(store: Store, worker_id: str, capacity: int) -> None:
    """Record a worker's new capacity (told with its acks), for operators."""
    await store.redis.hset(store.keys.worker(worker_id), "capacity", capacity)


async def heartbeat(store: Store, sessions: list[tuple[str, str]]) -> None:
    """Mark (worker id, session id) streams as alive now, in one round trip."""
    if not sessions:
        return
    keys, now = store.keys, store.clock.now_ms()
    async with store.redis.pipeline(transaction=False) as pipe:
        for worker_id, session_id in sessions:
            for part in store.parts:
                pipe.hset(part.keys.worker_streams(worker_id), session_id, now)
            pipe.zadd(keys.workers(), {worker_id: now})
        await pipe.execute()


async def unregister_stream(store: Store, worker_id: str, session_id: str) -> None:
    """Forget a closed stream (its leases are released separately)."""
    async with store.redis.pipeline(transaction=False) as pipe:
        for part in store.parts:
            pipe.hdel(part.keys.worker_streams(worker_id), session_id)
        await pipe.execute()


async def recently_seen(store: Store, alive_within_ms: int) -> list[tuple[str, float]]:
    """(worker id, last heard Unix ms) of workers heard from within `alive_within_ms`."""
    since = store.clock.now_ms() - alive_within_ms
    return scored(
        await store.redis.zrangebyscore(store.keys.workers(), since, "+inf", withscores=True)
    )


async def list_workers(store: Store, alive_within_ms: int) -> list[WorkerRecord]:
    """Workers heard from within `alive_within_ms`, by id."""
    keys, now = store.keys, store.clock.now_ms()
    seen = await recently_seen(store, alive_within_ms)
    if not seen:
        return []
    parts = store.parts
    step = 2 + len(parts)
    async with store.redis.pipeline(transaction=False) as pipe:
        for worker_id, _ in seen:
            pipe.hgetall(keys.worker(worker_id))
            pipe.hvals(parts[0].keys.worker_streams(worker_id))
            for part in parts:  # its leases, counted in every partition
                pipe.scard(part.keys.inflight(worker_id))
        replies = await pipe.execute()
    workers = []
    for i, (worker_id, score) in enumerate(seen):
        info, beats = replies[step * i], replies[step * i + 1]
        in_flight = sum(int(n) for n in replies[step * i + 2 : step * (i + 1)])
        live = [b for b in beats if now - int(b) <= alive_within_ms]
        workers.append(
            WorkerRecord(
                worker_id=worker_id,
                hostname=info.get("hostname", ""),
                pid=int(info.get("pid", 0)),
                job_types=orjson.loads(info.get("types", "[]")),
                capacity=int(info.get("capacity", 0)),
                in_flight=int(in_flight),
                last_heartbeat_ms=int(score),
                connected_ms=int(info.get("connected", 0)),
                streams=len(live),
            )
        )
    return sorted(workers, key=lambda w: w.worker_id)


async def prune_workers(store: Store, older_than_ms: int) -> int:
    """Drop workers silent for `older_than_ms` and holding no jobs; return how many."""
    keys = store.keys
    cutoff = store.clock.now_ms() - older_than_ms
    stale = texts(await store.redis.zrangebyscore(keys.workers(), "-inf", cutoff))
    pruned = 0
    for worker_id in stale:
        if sum(await store.inflight_counts(worker_id)):
            continue
        async with store.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(keys.workers(), worker_id)
            pipe.delete(keys.worker(worker_id))
            pipe.hdel(keys.worker_control(), worker_id)  # quiet/stopping ends with it
            await pipe.execute()
        async with store.redis.pipeline(transaction=False) as pipe:
            for part in store.parts:
                pipe.delete(part.keys.worker_streams(worker_id))
            await pipe.execute()
        pruned += 1
    return pruned
