"""Reads of the global events feed: a capped Redis stream appended by every transition
(`feed()` in lua/_prelude.lua)."""

from __future__ import annotations

from typing import Any

import redis.exceptions

from gopher_server.store._text import text
from gopher_server.store.records import FeedEntry, FeedPage
from gopher_server.store.store import Store


def _entry(entry_id: Any, fields: dict[Any, Any]) -> FeedEntry:
    f = {text(k): text(v) for k, v in fields.items()}
    return FeedEntry(
        id=text(entry_id),
        job_id=f.get("j", ""),
        type=f.get("y", ""),
        time_ms=int(f.get("t", "0")),
        from_state=f.get("f", ""),
        to_state=f.get("s", ""),
        attempt=int(float(f.get("a", "0"))),
        worker_id=f.get("w", ""),
        error_type=f.get("e", ""),
    )


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


async def _max_trimmed_id(store: Store) -> str:
    """The newest id the cap has trimmed away ('0-0' when none, or no feed yet)."""
    try:
        info = await store.redis.xinfo_stream(store.keys.events())
    except redis.exceptions.ResponseError:  # no such key: nothing was ever trimmed
        return "0-0"
    return text(info.get("max-deleted-entry-id", "0-0"))


async def read_events(store: Store, after_id: str = "", limit: int = 100) -> FeedPage:
    """Up to `limit` feed entries after `after_id` ("<ms>-<seq>" or "<ms>"), oldest
    first; with no `after_id`, the newest `limit` entries. `last_id` is the id to read
    on from ("0-0" for an empty feed, so the next read starts at its beginning)."""
    key = store.keys.events()
    if not after_id:
        newest: list[Any] = await store.redis.xrevrange(key, "+", "-", count=limit) or []
        entries = [_entry(i, f) for i, f in reversed(newest)]
        return FeedPage(entries, entries[-1].id if entries else "0-0", False)
    page: list[Any] = await store.redis.xrange(key, "(" + after_id, "+", count=limit) or []
    entries = [_entry(i, f) for i, f in page]
    # Trimming drops the oldest entries first, so entries after `after_id` were lost
    # exactly when the newest trimmed id is after it.
    truncated = _id_key(await _max_trimmed_id(store)) > _id_key(after_id)
    return FeedPage(entries, entries[-1].id if entries else after_id, truncated)
