"""Workers' circuit breaker states, as reported by the workers.

One hash maps "<worker id>\\t<job type>" to "<state>:<hold until ms>". Dispatch reads it
to skip types a worker's breaker holds back; admins read it through ListWorkers.
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
    key = store.keys.circuits()
    if state == "closed":
        await store.redis.hdel(key, _field(worker_id, job_type))
    else:
        await store.redis.hset(key, _field(worker_id, job_type), f"{state}:{hold_until_ms}")


async def by_worker(store: Store) -> dict[str, dict[str, str]]:
    """{worker id: {job type: state}} for every breaker that is not closed."""
    out: dict[str, dict[str, str]] = {}
    for field, value in (await store.redis.hgetall(store.keys.circuits())).items():
        worker_id, _, job_type = text(field).partition(SEPARATOR)
        out.setdefault(worker_id, {})[job_type] = text(value).partition(":")[0]
    return out


async def prune(store: Store) -> int:
    """Drop entries whose hold ended long ago (their worker is gone); return how many."""
    cutoff = store.clock.now_ms() - STALE_MS
    stale = [
        text(field)
        for field, value in (await store.redis.hgetall(store.keys.circuits())).items()
        if int(text(value).partition(":")[2] or 0) < cutoff
    ]
    if stale:
        await store.redis.hdel(store.keys.circuits(), *stale)
    return len(stale)
