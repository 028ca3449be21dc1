"""Retention queries for the janitor: which indexes and dead jobs are past their limits."""

from __future__ import annotations

from gopher_server.store import admin
from gopher_server.store._text import scored, texts
from gopher_server.store.store import Partition, Store


async def forget_finished_before(store: Store, cutoff_ms: int, batch: int = 1000) -> int:
    """Drop the index entries (the finished set and the id index) of jobs finished
    before `cutoff_ms`, whose hashes expire by TTL on their own; returns how many."""

    async def forget_in(part: Partition) -> int:
        keys, dropped = part.keys, 0
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

    return sum(await store.each_part(forget_in))


async def dead_past_limits(store: Store, retention_ms: int, max_jobs: int) -> list[str]:
    """Ids of dead jobs older than `retention_ms`, then the oldest of the rest beyond
    `max_jobs`: what the DLQ's age and count limits say to purge."""
    expired = await admin.dead_ids(store, older_than_ms=retention_ms)
    counts = await store.each_part(lambda part: store.redis.zcard(part.keys.dead()))
    excess = sum(int(n) for n in counts) - len(expired) - max_jobs
    if excess > 0:
        # The oldest beyond the limit over the whole DLQ: the oldest of every
        # partition's first `expired + excess`, merged by time of death.
        reach = len(expired) + excess

        async def oldest_in(part: Partition) -> list[tuple[str, float]]:
            raw = await store.redis.zrange(part.keys.dead(), 0, reach - 1, withscores=True)
            return scored(raw)

        merged = sorted(
            (pair for pairs in await store.each_part(oldest_in) for pair in pairs),
            key=lambda p: (p[1], p[0]),
        )
        expired += [job_id for job_id, _ in merged[len(expired) : reach]]
    return expired
