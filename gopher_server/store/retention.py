"""Retention queries for the janitor: which indexes and dead jobs are past their limits."""

from __future__ import annotations

from gopher_server.store import admin
from gopher_server.store._text import texts
from gopher_server.store.store import Store


async def forget_finished_before(store: Store, cutoff_ms: int, batch: int = 1000) -> int:
    """Drop the index entries (the finished set and the id index) of jobs finished
    before `cutoff_ms`, whose hashes expire by TTL on their own; returns how many."""
    keys, dropped = store.keys, 0
    while ids := texts(
        await store.redis.zrangebyscore(keys.finished(), "-inf", cutoff_ms, start=0, num=batch)
    ):
        async with store.redis.pipeline(transaction=False) as pipe:
            pipe.zrem(keys.finished(), *ids)
            pipe.zrem(keys.job_ids(), *ids)
            await pipe.execute()
        dropped += len(ids)
        if len(ids) < batch:
            break
    return dropped


async def dead_past_limits(store: Store, retention_ms: int, max_jobs: int) -> list[str]:
    """Ids of dead jobs older than `retention_ms`, then the oldest of the rest beyond
    `max_jobs`: what the DLQ's age and count limits say to purge."""
    expired = await admin.dead_ids(store, older_than_ms=retention_ms)
    excess = await store.redis.zcard(store.keys.dead()) - len(expired) - max_jobs
    if excess > 0:
        first, last = len(expired), len(expired) + excess - 1
        expired += texts(await store.redis.zrange(store.keys.dead(), first, last))
    return expired
