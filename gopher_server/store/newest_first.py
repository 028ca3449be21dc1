"""Newest-first listings over a partitioned namespace: the DLQ and the finished jobs.

Each partition keeps its own set scored by time (of death, of finishing). A page is
the merge of every partition's next entries in the set's own order, newest first:
score descending, then member descending (how ZREVRANGE orders ties). The page token
is the last (score, member) shown, so the next page starts right after it in every
partition: no duplicates and no gaps, however many entries share a millisecond.
"""

from __future__ import annotations

import base64
import heapq
from collections.abc import Callable

from gopher_server.store._text import scored
from gopher_server.store.keys import Keys
from gopher_server.store.store import Partition, Store

_TOKEN = "n:"


class BadToken(ValueError):
    """The page token was not produced by this listing."""


def encode(score: float, member: str) -> str:
    """The token of the page after entry (score, member)."""
    raw = f"{score!r}\t{member}".encode()
    return _TOKEN + base64.urlsafe_b64encode(raw).decode()


def decode(token: str) -> tuple[float, str]:
    """(score, member) of a token from `encode`."""
    try:
        score, _, member = base64.urlsafe_b64decode(token[len(_TOKEN) :]).decode().partition("\t")
        return float(score), member
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadToken("page_token is not a token from a previous page") from exc


def is_token(token: str) -> bool:
    """Whether `token` comes from this listing."""
    return token.startswith(_TOKEN)


async def _after(
    store: Store, key: str, after: tuple[float, str] | None, count: int
) -> list[tuple[str, float]]:
    """Up to `count` entries of one partition's set that come after `after`."""
    if after is None:
        return scored(await store.redis.zrevrange(key, 0, count - 1, withscores=True))
    score, member = after
    # Entries at the same score that sort at or before `member` were shown already;
    # read past them (ZCOUNT bounds how many there are).
    ties = int(await store.redis.zcount(key, score, score))
    raw = await store.redis.zrevrangebyscore(
        key, score, "-inf", start=0, num=count + ties, withscores=True
    )
    return [(m, s) for m, s in scored(raw) if s < score or m < member][:count]


async def page(
    store: Store,
    key_of: Callable[[Keys], str],
    size: int,
    token: str,
) -> tuple[list[tuple[str, float]], str]:
    """Up to `size` (member, score) entries, newest first across the partitions, and
    the token of the next page ('' when this one reached the end)."""
    after = decode(token) if token else None

    async def read(part: Partition) -> list[tuple[str, float]]:
        return await _after(store, key_of(part.keys), after, size + 1)

    merged = heapq.merge(*await store.each_part(read), key=lambda e: (-e[1], _desc(e[0])))
    entries = [e for _, e in zip(range(size + 1), merged, strict=False)]
    more = len(entries) > size
    del entries[size:]
    if not (more and entries):
        return entries, ""
    last_member, last_score = entries[-1]
    return entries, encode(last_score, last_member)


class _desc(str):
    """A string that sorts in reverse, for a merge on (score desc, member desc)."""

    def __lt__(self, other: object) -> bool:
        return str.__gt__(self, other)  # type: ignore[operator]
