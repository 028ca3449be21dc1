"""Operator reads and writes: queue stats, pausing, DLQ bulk actions, rate limits."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from gopher_server.store import listing, permits
from gopher_server.store._text import scored, text, texts
from gopher_server.store.keys import PRIORITIES
from gopher_server.store.records import QueueDepth, Stats
from gopher_server.store.schema import DEAD, WAKE, encode_control
from gopher_server.store.store import Partition, Store

# DLQ bulk actions run in chunks so no single script blocks Redis for long.
_CHUNK = 500


async def queue_stats(store: Store) -> Stats:
    """Depth per priority and type, paused flags, oldest ready job age, set sizes;
    summed over the partitions."""
    parts = await store.each_part(lambda part: _partition_stats(store, part))
    paused = set(await store.redis.smembers(store.parts[0].keys.paused()))
    queues: list[QueueDepth] = []
    for i, priority in enumerate(PRIORITIES):
        by_type: dict[str, int] = {}
        oldest = 0
        for depths, ages, _ in parts:
            for job_type, depth in depths[i].items():
                by_type[job_type] = by_type.get(job_type, 0) + depth
            oldest = max(oldest, ages[i])
        queues.append(
            QueueDepth(
                priority,
                sum(by_type.values()),
                dict(sorted(by_type.items())),
                priority in paused,
                oldest,
            )
        )
    sizes = [sum(p[2][j] for p in parts) for j in range(7)]
    return Stats(queues, *sizes)


async def _partition_stats(
    store: Store, part: Partition
) -> tuple[list[dict[str, int]], list[int], list[int]]:
    """One partition's depth per type and oldest ready age per priority, and its set
    sizes (scheduled, retrying, active, dead, finished, done and dead in 1 min)."""
    keys, read = part.keys, store.read_many
    now = store.clock.now_ms()
    depths: list[dict[str, int]] = []
    ages: list[int] = []
    type_sets = await read([("SMEMBERS", keys.ready_types(p)) for p in PRIORITIES])
    for priority, members in zip(PRIORITIES, type_sets, strict=True):
        types = sorted(texts(members))
        replies = await read(
            [
                (command, keys.ready(priority, t), *extra)
                for t in types
                for command, extra in (("LLEN", ()), ("LINDEX", (0,)))
            ]
        )
        by_type: dict[str, int] = {}
        heads: list[str] = []
        for i, t in enumerate(types):
            depth, head = int(replies[2 * i]), replies[2 * i + 1]
            if depth:
                by_type[t] = depth
                heads.append(head)
        oldest_age = 0
        if heads:
            # No 'ready' field: ready since creation.
            found = await read([("HMGET", keys.job(head), "ready", "created") for head in heads])
            readies = [int(r or c) for r, c in found if r or c]
            oldest_age = max(0, now - min(readies)) if readies else 0
        depths.append(by_type)
        ages.append(oldest_age)
    sets = (keys.scheduled(), keys.retrying(), keys.leases(), keys.dead(), keys.finished())
    counts: list[tuple[Any, ...]] = [("ZCARD", key) for key in sets]
    # Both sets are scored by the time a job got there: a window count is throughput.
    counts += [("ZCOUNT", keys.finished(), now - 60_000, "+inf")]
    counts += [("ZCOUNT", keys.dead(), now - 60_000, "+inf")]
    sizes = [int(x) for x in await read(counts)]
    return depths, ages, sizes


async def wake_type(store: Store, job_type: str) -> None:
    """Announce that `job_type` may have work in every partition (a limit changed)."""
    message = encode_control(WAKE, job_type)
    await asyncio.gather(*(store.publish(part.ctl, message) for part in store.parts))


async def set_paused(store: Store, priority: str, paused: bool) -> None:
    """Pause or resume dispatch from one priority (every partition's dispatch reads
    its own copy); resuming wakes waiting streams."""
    async with store.redis.pipeline(transaction=False) as pipe:
        for part in store.parts:
            if paused:
                pipe.sadd(part.keys.paused(), priority)
            else:
                pipe.srem(part.keys.paused(), priority)
        await pipe.execute()
    if paused:
        return
    for part in store.parts:
        for job_type in texts(await store.redis.smembers(part.keys.ready_types(priority))):
            await store.publish(part.ctl, encode_control(WAKE, job_type))


async def dead_ids(
    store: Store, job_type: str = "", older_than_ms: int = 0, error_contains: str = ""
) -> list[str]:
    """Ids in the DLQ, oldest first, optionally only of one type, dead at least
    `older_than_ms`, or whose last error contains `error_contains` (case-insensitive)."""
    max_score = "+inf" if older_than_ms <= 0 else store.clock.now_ms() - older_than_ms

    async def dead_in(part: Partition) -> list[tuple[str, float]]:
        raw = await store.redis.zrangebyscore(part.keys.dead(), "-inf", max_score, withscores=True)
        return scored(raw)

    dead = [pair for pairs in await store.each_part(dead_in) for pair in pairs]
    ids = [job_id for job_id, _ in sorted(dead, key=lambda p: (p[1], p[0]))]
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
    streams, since a raised limit may let waiting jobs go at once.

    The control slot holds the authoritative copy. New jobs of a limited type all go
    to the type's home partition (store.py `_place`), whose dispatch applies the limit
    exactly as on one server; every other partition gets a copy marked "g", so its
    jobs of the type (queued before the limit was set, or follow-ups) lease only under
    permits the home lends (store/permits.py)."""
    value = orjson.dumps(
        {"r": rate_per_s, "b": burst or max(1, int(rate_per_s)), "c": max_concurrency}
    ).decode()
    home = store.layout.key_partition(job_type)
    async with store.redis.pipeline(transaction=False) as pipe:
        pipe.hset(store.keys.rate_limits(), job_type, value)
        for part in store.parts:
            copy = value if part.index == home else permits.marked(value)
            pipe.hset(part.keys.rate_limits(), job_type, copy)
        await pipe.execute()
    store.limits_changed()
    await wake_type(store, job_type)


async def get_rate_limits(store: Store) -> dict[str, dict[str, float]]:
    """Every type's limits: {type: {"r": rate/s, "b": burst, "c": concurrency}}."""
    raw = await store.redis.hgetall(store.keys.rate_limits())
    return {text(t): orjson.loads(v) for t, v in sorted(raw.items())}


async def delete_rate_limit(store: Store, job_type: str) -> bool:
    """Remove a type's limits and bucket; False if it had none. Wakes its streams."""
    async with store.redis.pipeline(transaction=False) as pipe:
        pipe.hdel(store.keys.rate_limits(), job_type)
        for part in store.parts:
            pipe.hdel(part.keys.rate_limits(), job_type)
            pipe.delete(part.keys.bucket(job_type))
        replies = await pipe.execute()
    store.limits_changed()
    await wake_type(store, job_type)
    return bool(replies[0])
