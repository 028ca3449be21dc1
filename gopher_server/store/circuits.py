"""Workers' circuit breaker states, as reported by the workers.

One hash maps "<worker id>\\t<job type>" to "<state>:<hold until ms>". Dispatch reads it
to skip types a worker's breaker holds back; admins read it through ListWorkers. Each
partition's dispatch reads its own slot's copy, so a report is written to every
partition (reports come per breaker change, never per job); reads take the first.
"""

from __future__ import annotations

from gopher_server.store._text import text
from gopher_server.store.store import Store

SEPARATOR = "\t"
# Entries whose hold ended this long ago are dropped by the janitor.
STALE_MS = 3600 * 1000


def _field(worker_id: str, job_type: str) -> str:
    return f"{worker_id}{SEPARATOR}{job_type}"


async def report(
    store: Store, worker_id: str, job_type: str, state: str, hold_until_ms: int
) -> None:
    """Record a breaker state; CLOSED removes the entry."""
    field = _field(worker_id, job_type)
    async with store.redis.pipeline(transaction=False) as pipe:
        for part in store.parts:
            if state == "closed":
                pipe.hdel(part.keys.circuits(), field)
            else:
                pipe.hset(part.keys.circuits(), field, f"{state}:{hold_until_ms}")
        await pipe.execute()


async def by_worker(store: Store) -> dict[str, dict[str, str]]:
    """{worker id: {job type: state}} for every breaker that is not closed."""
    out: dict[str, dict[str, str]] = {}
    for field, value in (await store.redis.hgetall(store.parts[0].keys.circuits())).items():
        worker_id, _, job_type = text(field).partition(SEPARATOR)
        out.setdefault(worker_id, {})[job_type] = text(value).partition(":")[0]
    return out


async def prune(store: Store) -> int:
    """Drop entries whose hold ended long ago (their worker is gone); return how many."""
    cutoff = store.clock.now_ms() - STALE_MS
    stale = [
        text(field)
        for field, value in (await store.redis.hgetall(store.parts[0].keys.circuits())).items()
        if int(text(value).partition(":")[2] or 0) < cutoff
    ]
    if stale:
        async with store.redis.pipeline(transaction=False) as pipe:
            for part in store.parts:
                pipe.hdel(part.keys.circuits(), *stale)
            await pipe.execute()
    return len(stale)
