"""Schedule definitions and the per-schedule tick record that makes firing exactly-once."""

from __future__ import annotations

from typing import Any

import orjson

from gopher_server.store._text import text
from gopher_server.store.store import Store

# Claim a tick: fire only if this tick is later than the last fired one. Atomic, so of
# several brokers evaluating the same schedule, exactly one wins each tick.
_CLAIM = """
local last = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > last then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
"""


async def put(store: Store, name: str, definition: dict[str, Any]) -> None:
    """Create or replace a schedule."""
    await store.redis.hset(store.keys.schedules(), name, orjson.dumps(definition).decode())


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
        removed, _ = await pipe.execute()
    return bool(removed)


async def last_tick(store: Store, name: str) -> int:
    """The last tick (Unix ms) that fired, or 0."""
    raw = await store.redis.hget(store.keys.schedule_ticks(), name)
    return int(raw) if raw else 0


async def claim_tick(store: Store, name: str, tick_ms: int) -> bool:
    """True when this caller won the right to fire `tick_ms` for schedule `name`."""
    won = await store.redis.eval(_CLAIM, 1, store.keys.schedule_ticks(), name, tick_ms)
    return bool(won)
