"""Reads of the global events feed: a capped Redis stream appended by every transition
(`feed()` in lua/_history.lua; fields in store/schema.py FEED_FIELDS), one per partition.

With several partitions a page is the merge of every partition's stream by entry id
(Redis' clock in ms, then a sequence): exact within a partition, and across partitions
as exact as the masters' clocks agree. An entry's id is then `<ms>-<seq>-<partition>`
(two partitions' streams can hand out the same `<ms>-<seq>`), and resuming after it
continues the merge exactly there. A page's token is `v2:` and the last id read in
each partition; a plain `<ms>[-<seq>]` still means "after that moment" everywhere."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import redis.exceptions

from gopher_server.store._text import text
from gopher_server.store.records import FeedEntry, FeedPage
from gopher_server.store.schema import decode_feed_entry
from gopher_server.store.store import Partition, Store


def _entry(entry_id: Any, fields: dict[Any, Any]) -> FeedEntry:
    return decode_feed_entry(text(entry_id), {text(k): text(v) for k, v in fields.items()})


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


async def _oldest_if_trimmed(store: Store, key: str) -> str | None:
    """The oldest id still in the feed `key` if its cap trimmed anything, else None."""
    try:
        info = await store.redis.xinfo_stream(key)
    except redis.exceptions.ResponseError:  # no feed yet
        return None
    first, length = info.get("first-entry"), int(info.get("length", 0))
    # Redis 7 counts every entry ever added; older servers do not, but trimming only
    # ever happens once the feed holds its cap, and leaves it at least that long.
    added = info.get("entries-added")
    cap = -(-store.settings.events_max_len // len(store.parts))
    trimmed = int(added) > length if added is not None else length >= cap
    return text(first[0]) if first and trimmed else None


async def read_events(store: Store, after_id: str = "", limit: int = 100) -> FeedPage:
    """Up to `limit` feed entries after `after_id` ("<ms>-<seq>" or "<ms>"), oldest
    first; with no `after_id`, the newest `limit` entries. `last_id` is the id to read
    on from ("0-0" for an empty feed, so the next read starts at its beginning)."""
    if not store.single:
        return await _read_merged(store, after_id, limit)
    if after_id.startswith(_V2) or after_id.count("-") > 1:
        raise ValueError("after_id is a token or id from a partitioned namespace")
    key = store.keys.events()
    if not after_id:
        newest: list[Any] = await store.redis.xrevrange(key, "+", "-", count=limit) or []
        entries = [_entry(i, f) for i, f in reversed(newest)]
        return FeedPage(entries, entries[-1].id if entries else "0-0", False)
    page: list[Any] = await store.redis.xrange(key, "(" + after_id, "+", count=limit) or []
    entries = [_entry(i, f) for i, f in page]
    # Trimming drops the oldest entries first: once it has, an `after_id` older than
    # the oldest entry kept may have had successors that are gone.
    oldest = await _oldest_if_trimmed(store, key)
    truncated = oldest is not None and _id_key(oldest) > _id_key(after_id)
    return FeedPage(entries, entries[-1].id if entries else after_id, truncated)


_V2 = "v2:"


def _positions(store: Store, after_id: str) -> list[str]:
    """The per-partition ids a token says to read after."""
    count = len(store.parts)
    if after_id.startswith(_V2):
        ids = after_id[len(_V2) :].split(",")
        if len(ids) == count and all(_valid(i) for i in ids):
            return ids
        raise ValueError("after_id is not a token from a previous page")
    parts = after_id.split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts) and int(parts[2]) < count:
        # After one entry of the merge: where it stands among equal ids, the merge
        # orders partitions by index, so later partitions still have that id to read.
        ms, seq, k = (int(p) for p in parts)
        before = f"{ms}-{seq - 1}" if seq else f"{ms - 1}-{_MAX_SEQ}" if ms else "0-0"
        return [f"{ms}-{seq}" if j <= k else before for j in range(count)]
    if not _valid(after_id):
        raise ValueError("after_id must be '<ms>', '<ms>-<seq>' or a token from a previous page")
    return [after_id] * count


_MAX_SEQ = 2**64 - 1


def _valid(entry_id: str) -> bool:
    ms, _, seq = entry_id.partition("-")
    return ms.isdigit() and (not seq or seq.isdigit())


def _merged_entry(k: int, entry_id: Any, fields: dict[Any, Any]) -> FeedEntry:
    """A partition's entry as the merge shows it: its id names the partition."""
    entry = _entry(entry_id, fields)
    return replace(entry, id=f"{entry.id}-{k}")


async def _read_merged(store: Store, after_id: str, limit: int) -> FeedPage:
    if not after_id:

        async def newest_in(part: Partition) -> list[Any]:
            return await store.redis.xrevrange(part.keys.events(), "+", "-", count=limit) or []

        pages = await store.each_part(newest_in)
        tagged = [
            (_id_key(text(i)), k, _merged_entry(k, i, f))
            for k, page in enumerate(pages)
            for i, f in page
        ]
        chosen = sorted(tagged, key=lambda t: (t[0], t[1]))[-limit:] if limit else []
        # Whatever of a partition is not in the page is older than all of it: the
        # next read starts after each partition's newest entry.
        positions = [text(page[0][0]) if page else "0-0" for page in pages]
        return FeedPage([e for _, _, e in chosen], _V2 + ",".join(positions), False)
    positions = _positions(store, after_id)

    async def after_in(part: Partition) -> list[Any]:
        start = "(" + positions[part.index]
        return await store.redis.xrange(part.keys.events(), start, "+", count=limit) or []

    pages = await store.each_part(after_in)
    tagged = [
        (_id_key(text(i)), k, _merged_entry(k, i, f))
        for k, page in enumerate(pages)
        for i, f in page
    ]
    chosen = sorted(tagged, key=lambda t: (t[0], t[1]))[:limit]
    for key, k, _ in chosen:
        positions[k] = f"{key[0]}-{key[1]}"
    oldest = await store.each_part(lambda part: _oldest_if_trimmed(store, part.keys.events()))
    truncated = any(
        o is not None and _id_key(o) > _id_key(p)
        for o, p in zip(oldest, _positions(store, after_id), strict=True)
    )
    return FeedPage([e for _, _, e in chosen], _V2 + ",".join(positions), truncated)
