"""Shared helpers for the store tests: job factories and probes of raw Redis state."""

from __future__ import annotations

from typing import Any

import orjson

from gopher_server.store import schema
from gopher_server.store.job_hash import job_fields
from gopher_server.store.keys import PRIORITIES
from gopher_server.store.records import Lease, NewJob
from gopher_server.store.store import Store

# Largest batch handed to one submit script in these tests.
SUBMIT_CHUNK = 1000


def new_job(
    job_id: str, job_type: str = "email", priority: str = "normal", retries: int = 3, **extra: Any
) -> NewJob:
    """A validated job with an empty payload; `extra` sets any other NewJob field."""
    return NewJob(
        id=job_id, type=job_type, priority=priority, payload="{}", retries=retries, **extra
    )


async def submit_many(
    store: Store,
    count: int,
    prefix: str,
    job_type: str = "email",
    priority: str = "normal",
    **extra: Any,
) -> list[str]:
    """Submit `count` jobs named `<prefix>-<n>` in chunks; return their ids in order."""
    ids = [f"{prefix}-{n}" for n in range(count)]
    for start in range(0, count, SUBMIT_CHUNK):
        chunk = ids[start : start + SUBMIT_CHUNK]
        await store.submit([new_job(i, job_type, priority, **extra) for i in chunk])
    return ids


async def lease_one(
    store: Store, worker: str = "w1", session: str = "s1", types: tuple[str, ...] = ("email",)
) -> Lease:
    """Dispatch exactly one job to `worker` (capacity: its in-flight count + 1)."""
    in_flight = sum(await store.inflight_counts(worker))
    result = await store.dispatch(worker, session, in_flight + 1, list(types))
    assert len(result.leases) == 1, result
    return result.leases[0]


async def job_hash(store: Store, job_id: str) -> dict[str, str]:
    """The job's raw hash fields."""
    raw = await store.redis.hgetall(store.job_keys(job_id).job(job_id))
    return {str(k): str(v) for k, v in raw.items()}


async def stored_fields(store: Store, job_id: str) -> dict[str, str]:
    """The job's fields as written ({} for no job): payload chunks joined and the values
    left out of the hash filled in, as every reader of the store sees them."""
    raw = await job_hash(store, job_id)
    return job_fields(raw) if raw else {}


async def history_texts(store: Store, job_id: str) -> list[str]:
    """The job's history entries as stored in its hash, oldest first."""
    raw = await job_hash(store, job_id)
    count = int(raw.get(schema.HISTORY_COUNT_FIELD, "0"))
    texts = (raw.get(schema.history_field(i)) for i in range(1, count + 1))
    return [t for t in texts if t is not None]


async def history(store: Store, job_id: str) -> list[dict[str, Any]]:
    """The job's history entries (oldest first) as the scripts wrote them, each as a
    dict with the keys of store/schema.py HISTORY_FIELDS: a JSON entry decoded, a plain
    one split into its values (the worker id only when it has one, as in JSON)."""
    entries = []
    for text in await history_texts(store, job_id):
        if text.startswith("{"):
            entries.append(orjson.loads(text))
            continue
        at, from_state, to_state, attempt, worker = text.split(" ", 4)
        entry = {"t": at, "f": from_state, "s": to_state, "a": int(attempt)}
        entries.append(entry | ({"w": worker} if worker else {}))
    return entries


async def holders(store: Store, job_id: str) -> list[str]:
    """Every state structure holding `job_id`, by key name (one per occurrence)."""
    keys, redis = store.job_keys(job_id), store.redis
    found: list[str] = []
    for zset in (keys.scheduled(), keys.retrying(), keys.leases(), keys.dead(), keys.finished()):
        if await redis.zscore(zset, job_id) is not None:
            found.append(zset)
    for priority in PRIORITIES:
        for job_type in await redis.smembers(keys.ready_types(priority)):
            ready = keys.ready(priority, str(job_type))
            found += [ready] * list(await redis.lrange(ready, 0, -1)).count(job_id)
    async for inflight in redis.scan_iter(match=keys.inflight("*")):
        if await redis.sismember(inflight, job_id):
            found.append(inflight)
    return found


async def ready_ids(store: Store, priority: str, job_type: str) -> list[str]:
    """The ready list of one priority and type, head first."""
    found: list[str] = []
    for part in store.parts:  # partition after partition
        found += [
            str(i) for i in await store.redis.lrange(part.keys.ready(priority, job_type), 0, -1)
        ]
    return found
