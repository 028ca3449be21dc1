"""Reads of the global events feed: a capped Redis stream appended by every transition
(`feed()` in lua/_history.lua; fields in store/schema.py FEED_FIELDS)."""

from __future__ import annotations

from typing import Any

import redis.exceptions

from gopher_server.store._text import text
from gopher_server.store.records import FeedEntry, FeedPage
from gopher_server.store.schema import decode_feed_entry
from gopher_server.store.store import Store


def _entry(entry_id: Any, fields: dict[Any, Any]) -> FeedEntry:
    return decode_feed_entry(text(entry_id), {text(k): text(v) for k, v in fields.items()})


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


async def _oldest_if_trimmed(store: Store) -> str | None:
    """The oldest id still in the feed if the cap has trimmed anything, else None."""
    try:
        info = await store.redis.xinfo_stream(store.keys.events())
    except redis.exceptions.ResponseError:  # no feed yet
        return None
    first, length = info.get("first-entry"), int(info.get("length", 0))
    # Redis 7 counts every entry ever added; older servers do not, but trimming only
    # ever happens once the feed holds its cap, and leaves it at least that long.
    added = info.get("entries-added")
    trimmed = int(added) > length if added is not None else length >= store.settings.events_max_len
    return text(first[0]) if first and trimmed else None


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
    # Trimming drops the oldest entries first: once it has, an `after_id` older than
    # the oldest entry kept may have had successors that are gone.
    oldest = await _oldest_if_trimmed(store)
    truncated = oldest is not None and _id_key(oldest) > _id_key(after_id)
    return FeedPage(entries, entries[-1].id if entries else after_id, truncated)
