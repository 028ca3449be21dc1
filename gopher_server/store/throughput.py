"""Throughput history: outcomes per minute and per type, from the counters the scripts
keep (`Keys.throughput`, one small hash per minute, expiring after two hours)."""

from __future__ import annotations

from dataclasses import dataclass, field

from gopher_server.store._text import text
from gopher_server.store.store import Store

MINUTE_MS = 60_000
# States whose transitions the scripts count (_prelude.lua, COUNTED).
COUNTED_STATES = ("succeeded", "retrying", "dead", "cancelled")


@dataclass
class MinuteCounts:
    """Transitions into each counted state during one minute, by job type."""

    start_ms: int
    by_state: dict[str, dict[str, int]] = field(default_factory=dict)

    def total(self, state: str) -> int:
        """All transitions into `state` this minute."""
        return sum(self.by_state.get(state, {}).values())


async def history(store: Store, minutes: int, job_type: str = "") -> list[MinuteCounts]:
    """The last `minutes` minutes, oldest first, the current one last: one HGETALL each,
    pipelined, whatever the number of jobs."""
    current = store.clock.now_ms() // MINUTE_MS
    first = current - minutes + 1
    minutes_range = range(first, current + 1)
    async with store.redis.pipeline(transaction=False) as pipe:
        for minute in minutes_range:
            for part in store.parts:  # each partition counts its own transitions
                pipe.hgetall(part.keys.throughput(minute))
        replies = await pipe.execute()
    out: list[MinuteCounts] = []
    width = len(store.parts)
    for i, minute in enumerate(minutes_range):
        counts = MinuteCounts(minute * MINUTE_MS)
        for reply in replies[i * width : (i + 1) * width]:
            for raw_key, raw_value in reply.items():
                state, _, kind = text(raw_key).partition("\t")
                if job_type and kind != job_type:
                    continue
                by_type = counts.by_state.setdefault(state, {})
                by_type[kind] = by_type.get(kind, 0) + int(raw_value)
        out.append(counts)
    return out
