"""Operator reads and writes: queue stats, pausing, DLQ bulk actions, rate limits."""

from __future__ import annotations

import orjson

from gopher_server.store import listing
from gopher_server.store._text import text, texts
from gopher_server.store.keys import PRIORITIES
from gopher_server.store.records import QueueDepth, Stats
from gopher_server.store.schema import DEAD, WAKE, encode_control
from gopher_server.store.store import Store

# DLQ bulk actions run in chunks so no single script blocks Redis for long.
_CHUNK = 500


async def queue_stats(store: Store) -> Stats:
    """Depth per priority and type, paused flags, oldest ready job age, set sizes."""
    keys, redis = store.keys, store.redis
    paused = set(await redis.smembers(keys.paused()))
    now = store.clock.now_ms()
    queues: list[QueueDepth] = []
    for priority in PRIORITIES:
        types = sorted(texts(await redis.smembers(keys.ready_types(priority))))
        async with redis.pipeline(transaction=False) as pipe:
            for t in types:
                pipe.llen(keys.ready(priority, t))
                pipe.lindex(keys.ready(priority, t), 0)
            replies = await pipe.execute()
        by_type: dict[str, int] = {}
        heads: list[str] = []
        for i, t in enumerate(types):
            depth, head = int(replies[2 * i]), replies[2 * i + 1]
            if depth:
                by_type[t] = depth
                heads.append(head)
        oldest_age = 0
        if heads:
            async with redis.pipeline(transaction=False) as pipe:
                for head in heads:
                    pipe.hmget(keys.job(head), "ready", "created")  # no 'ready': ready at creation
                readies = [int(r or c) for r, c in await pipe.execute() if r or c]
            oldest_age = max(0, now - min(readies)) if readies else 0
        queues.append(
            QueueDepth(priority, sum(by_type.values()), by_type, priority in paused, oldest_age)
        )
    async with redis.pipeline(transaction=False) as pipe:
        for key in (keys.scheduled(), keys.retrying(), keys.leases(), keys.dead(), keys.finished()):
            pipe.zcard(key)
        # Both sets are scored by the time a job got there: a window count is throughput.
        pipe.zcount(keys.finished(), now - 60_000, "+inf")
        pipe.zcount(keys.dead(), now - 60_000, "+inf")
        scheduled, retrying, active, dead, finished, done_1m, dead_1m = (
            int(x) for x in await pipe.execute()
        )
    return Stats(queues, scheduled, retrying, active, dead, finished, done_1m, dead_1m)


async def set_paused(store: Store, priority: str, paused: bool) -> None:
    """Pause or resume dispatch from one priority; resuming wakes waiting streams."""
    if paused:
        await store.redis.sadd(store.keys.paused(), priority)
        return
    await store.redis.srem(store.keys.paused(), priority)
    for job_type in texts(await store.redis.smembers(store.keys.ready_types(priority))):
        await store.redis.publish(store.keys.control_channel(), encode_control(WAKE, job_type))


async def dead_ids(
    store: Store, job_type: str = "", older_than_ms: int = 0, error_contains: str = ""
) -> list[str]:
    """Ids in the DLQ, optionally only of one type, dead at least `older_than_ms`, or
    whose last error contains `error_contains` (case-insensitive)."""
    max_score = "+inf" if older_than_ms <= 0 else store.clock.now_ms() - older_than_ms
    ids = texts(await store.redis.zrangebyscore(store.keys.dead(), "-inf", max_score))
    if not (job_type or error_contains) or not ids:
        return ids
    needle = error_contains.lower()
    selected: list[str] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        selected += await listing.passing_ids(store, chunk, DEAD, job_type, "", needle)
    return selected


async def requeue_dead(store: Store, job_ids: list[str]) -> int:
    """Requeue the given dead jobs in chunks; return how many moved."""
    moved = 0
    for start in range(0, len(job_ids), _CHUNK):
        moved += await store.requeue_dead(job_ids[start : start + _CHUNK])
    return moved


async def purge_dead(store: Store, job_ids: list[str]) -> int:
    """Delete the given dead jobs in chunks; return how many were deleted."""
    purged = 0
    for start in range(0, len(job_ids), _CHUNK):
        purged += await store.purge_dead(job_ids[start : start + _CHUNK])
    return purged


async def set_rate_limit(
    store: Store, job_type: str, rate_per_s: float, burst: int, max_concurrency: int
) -> None:
    """Store a type's limits; dispatch reads them on its next call. Wakes the type's
    streams, since a raised limit may let waiting jobs go at once."""
    value = {"r": rate_per_s, "b": burst or max(1, int(rate_per_s)), "c": max_concurrency}
    await store.redis.hset(store.keys.rate_limits(), job_type, orjson.dumps(value).decode())
    await store.redis.publish(store.keys.control_channel(), encode_control(WAKE, job_type))


async def get_rate_limits(store: Store) -> dict[str, dict[str, float]]:
    """Every type's limits: {type: {"r": rate/s, "b": burst, "c": concurrency}}."""
    raw = await store.redis.hgetall(store.keys.rate_limits())
    return {text(t): orjson.loads(v) for t, v in sorted(raw.items())}


async def delete_rate_limit(store: Store, job_type: str) -> bool:
    """Remove a type's limits and bucket; False if it had none. Wakes its streams."""
    removed = await store.redis.hdel(store.keys.rate_limits(), job_type)
    await store.redis.delete(store.keys.bucket(job_type))
    await store.redis.publish(store.keys.control_channel(), encode_control(WAKE, job_type))
    return bool(removed)
