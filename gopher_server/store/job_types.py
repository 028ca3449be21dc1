"""Job types as workers register them: each worker's per-type defaults, and the set of
types any worker ever registered.

A worker's defaults live in its worker hash (field "defaults", JSON {type: {field:
value}}), so they share the worker's lifetime: they count while the worker has a live
stream (a stream heartbeat within the liveness window) and are forgotten with the worker
(store/workers.py `prune_workers`). The registered-types set is never pruned: a type some
worker once handled stays "known", so its jobs are not flagged as having no worker.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import orjson

from gopher_server.store._text import text, texts
from gopher_server.store.schema import TYPES, encode_control
from gopher_server.store.store import Store
from gopher_server.store.workers import recently_seen


@dataclass(frozen=True, slots=True)
class TypeDefaults:
    """A job type's defaults; None leaves the submitter's value or the broker default.
    Times in ms, like NewJob's."""

    priority: str | None = None
    retries: int | None = None
    timeout_ms: int | None = None
    lease_ms: int | None = None
    backoff_base_ms: int | None = None
    backoff_factor: float | None = None
    backoff_max_ms: int | None = None

    def encode(self) -> dict[str, object]:
        """The stored form: only the fields that are set."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def decode(cls, data: dict[str, object]) -> TypeDefaults:
        """Read the stored form; unknown keys (a newer broker's) are ignored."""
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})  # type: ignore[arg-type]


# No defaults at all: shared, since building a frozen dataclass costs microseconds on
# the submit path.
NO_TYPE_DEFAULTS = TypeDefaults()


@dataclass(frozen=True, slots=True)
class LiveWorker:
    """A worker with a live stream: its types, its defaults by type, and when its
    current stream opened (the tie-break when workers' defaults disagree)."""

    worker_id: str
    job_types: tuple[str, ...]
    defaults: dict[str, TypeDefaults]
    connected_ms: int


async def register(
    store: Store, worker_id: str, job_types: list[str], defaults: dict[str, TypeDefaults]
) -> None:
    """Record the defaults of a worker whose stream just opened (replacing the ones of
    its earlier streams) and mark its types as registered."""
    keys = store.keys
    encoded = orjson.dumps({t: d.encode() for t, d in defaults.items()}).decode()
    async with store.redis.pipeline(transaction=False) as pipe:
        pipe.hset(keys.worker(worker_id), "defaults", encoded)
        pipe.sadd(keys.registered_types(), *job_types)
        await pipe.execute()
    # After the writes: a broker that hears it and reads finds them (every broker then
    # applies the defaults at once, not at its next periodic refresh).
    await store.publish(keys.control_channel(), encode_control(TYPES, worker_id))


async def registered_types(store: Store) -> set[str]:
    """Every job type a worker ever registered."""
    return set(texts(await store.redis.smembers(store.keys.registered_types())))


async def live_workers(store: Store, alive_within_ms: int) -> list[LiveWorker]:
    """Workers with at least one stream heard from within `alive_within_ms`. A worker
    that closed all its streams is not live, even if its last heartbeat is recent."""
    keys, now = store.keys, store.clock.now_ms()
    seen = await recently_seen(store, alive_within_ms)
    if not seen:
        return []
    async with store.redis.pipeline(transaction=False) as pipe:
        for worker_id, _ in seen:
            pipe.hmget(keys.worker(worker_id), "types", "defaults", "connected")
            pipe.hvals(store.parts[0].keys.worker_streams(worker_id))
        replies = await pipe.execute()
    live = []
    for i, (worker_id, _) in enumerate(seen):
        (types, defaults, connected), beats = replies[2 * i], replies[2 * i + 1]
        if not any(now - int(b) <= alive_within_ms for b in beats):
            continue
        by_type = orjson.loads(text(defaults)) if defaults else {}
        live.append(
            LiveWorker(
                worker_id=worker_id,
                job_types=tuple(orjson.loads(text(types)) if types else ()),
                defaults={t: TypeDefaults.decode(d) for t, d in by_type.items()},
                connected_ms=int(connected or 0),
            )
        )
    return live
