"""Schedule definitions and the per-schedule tick record that makes firing exactly-once.

The tick record (hash schedule name -> last tick ms) is the schedule's progress: a
tick fires only when it is later than the record. Creating, replacing or resuming a
schedule moves the record to "now", so it starts afresh and never fires for ticks from
before (or during a pause).
"""

from __future__ import annotations

from typing import Any

import orjson

from gopher_server.store._text import text
from gopher_server.store.store import Store

# Claim a tick: move the record to ARGV[2] only if that is later than the last fired
# tick. Atomic, so of several brokers evaluating the same schedule one wins each tick.
_CLAIM = """
local last = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > last then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
"""

# Store a definition and start it from ARGV[3] (never moving the tick record back).
_PUT = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if tonumber(ARGV[3]) > last then redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) end
return 1
"""


async def put(store: Store, name: str, definition: dict[str, Any]) -> None:
    """Create or replace a schedule; it fires only for ticks after now."""
    keys = store.keys
    await store.redis.eval(
        _PUT,
        2,
        keys.schedules(),
        keys.schedule_ticks(),
        name,
        orjson.dumps(definition).decode(),
        store.clock.now_ms(),
    )


async def get(store: Store, name: str) -> dict[str, Any] | None:
    """A schedule's definition, or None."""
    raw = await store.redis.hget(store.keys.schedules(), name)
    return orjson.loads(raw) if raw else None


async def all_schedules(store: Store) -> dict[str, dict[str, Any]]:
    """Every schedule by name."""
    raw = await store.redis.hgetall(store.keys.schedules())
    return {text(name): orjson.loads(v) for name, v in sorted(raw.items())}


async def delete(store: Store, name: str) -> bool:
    """Remove a schedule and its tick record; False if it did not exist."""
    async with store.redis.pipeline(transaction=True) as pipe:
        pipe.hdel(store.keys.schedules(), name)
        pipe.hdel(store.keys.schedule_ticks(), name)
        pipe.hdel(store.keys.schedule_runs(), name)
        removed, _, _ = await pipe.execute()
    return bool(removed)


async def last_tick(store: Store, name: str) -> int:
    """The last tick (Unix ms) that fired (or the schedule's start), or 0."""
    raw = await store.redis.hget(store.keys.schedule_ticks(), name)
    return int(raw) if raw else 0


async def all_ticks(store: Store) -> dict[str, int]:
    """Every schedule's tick record, by name."""
    raw = await store.redis.hgetall(store.keys.schedule_ticks())
    return {text(name): int(v) for name, v in raw.items()}


async def claim_tick(store: Store, name: str, tick_ms: int) -> bool:
    """True when this caller won the right to fire `tick_ms` for schedule `name`."""
    won = await store.redis.eval(_CLAIM, 1, store.keys.schedule_ticks(), name, tick_ms)
    return bool(won)


async def record_run(store: Store, name: str, tick_ms: int) -> None:
    """Note that `tick_ms` submitted a job for schedule `name`."""
    await store.redis.hset(store.keys.schedule_runs(), name, tick_ms)


async def last_run(store: Store, name: str) -> int:
    """The last tick (Unix ms) that submitted a job, or 0."""
    raw = await store.redis.hget(store.keys.schedule_runs(), name)
    return int(raw) if raw else 0
