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
        pipe.hset(keys.worker_streams(worker_id), session_id, now)
        pipe.zadd(keys.workers(), {worker_id: now})
        pipe.hdel(keys.worker_holds(), worker_id)  # a fresh stream is a sign of life
        await pipe.execute()


async def heartbeat(store: Store, sessions: list[tuple[str, str]]) -> None:
    """Mark (worker id, session id) streams as alive now, in one round trip."""
    if not sessions:
        return
    keys, now = store.keys, store.clock.now_ms()
    async with store.redis.pipeline(transaction=False) as pipe:
        for worker_id, session_id in sessions:
            pipe.hset(keys.worker_streams(worker_id), session_id, now)
            pipe.zadd(keys.workers(), {worker_id: now})
        await pipe.execute()


async def unregister_stream(store: Store, worker_id: str, session_id: str) -> None:
    """Forget a closed stream (its leases are released separately)."""
    await store.redis.hdel(store.keys.worker_streams(worker_id), session_id)


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
    async with store.redis.pipeline(transaction=False) as pipe:
        for worker_id, _ in seen:
            pipe.hgetall(keys.worker(worker_id))
            pipe.scard(keys.inflight(worker_id))
            pipe.hvals(keys.worker_streams(worker_id))
        replies = await pipe.execute()
    workers = []
    for i, (worker_id, score) in enumerate(seen):
        info, in_flight, beats = replies[3 * i], replies[3 * i + 1], replies[3 * i + 2]
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
        if await store.redis.scard(keys.inflight(worker_id)):
            continue
        async with store.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(keys.workers(), worker_id)
            pipe.delete(keys.worker(worker_id), keys.worker_streams(worker_id))
            pipe.hdel(keys.worker_control(), worker_id)  # quiet/stopping ends with it
            await pipe.execute()
        pruned += 1
    return pruned
