"""Retention queries for the janitor: which indexes and dead jobs are past their limits."""

from __future__ import annotations

from gopher_server.store import admin
from gopher_server.store._text import texts
from gopher_server.store.store import Store


async def forget_finished_before(store: Store, cutoff_ms: int) -> int:
    """Drop index entries of jobs finished before `cutoff_ms` (their hashes expire by
    TTL on their own); returns how many were dropped."""
    dropped: int = await store.redis.zremrangebyscore(store.keys.finished(), "-inf", cutoff_ms)
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
