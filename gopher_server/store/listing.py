"""Paged listing of jobs across the queues and sets that index them.

Jobs are not kept in one global index (that would cost memory per queued job); a
listing walks the structures that hold each state: ready lists, the scheduled, retry,
lease, DLQ and finished sets. The page token records which source and offset to
resume from, so pages are stable while the data is.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from gopher_server.store import newest_first
from gopher_server.store._text import texts
from gopher_server.store.keys import PRIORITIES, Keys
from gopher_server.store.records import JobRecord
from gopher_server.store.store import Store

# Most ids examined per call, so a sparse filter cannot make one call run unbounded;
# the caller gets a short page and a token to continue. Sized so a call that examines
# all of them stays well under the dashboard's 300 ms per page (docs/benchmarks.md).
MAX_SCAN = 10_000
# While scanning, ids are read SLICE at a time and examined SCAN_CHUNK per script call:
# few round trips (each costs most on a busy machine), and a call holds Redis for 1-2
# µs per id, so other clients wait at most a millisecond or two behind one chunk.
SLICE = 5_000
SCAN_CHUNK = 1_000


class BadPageToken(ValueError):
    """The page token was not produced by this listing."""


@dataclass(frozen=True)
class _Source:
    kind: str  # "list", "zset" (oldest first), "zrev" (newest first) or "lex" (id index)
    key: str
    state: str  # state the source holds, used to filter shared sets
    prefix: str = ""  # for "lex": the id prefix
    mixed: bool = False  # holds jobs of other states too (the finished set)


def _encode(index: int, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{index}:{offset}".encode()).decode()


def page_token_at(index: int, offset: int) -> str:
    """The token of the page that starts `offset` jobs into the listing's `index`-th
    source (for a filter that reads one list or set, index 0 is that list): how a
    benchmark opens a deep page without walking every page before it."""
    return _encode(index, offset)


def _decode(token: str) -> tuple[int, int]:
    try:
        index, offset = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        return int(index), int(offset)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadPageToken("page_token is not a token from a previous page") from exc


async def _sources(
    store: Store, state: str, job_type: str, priority: str, id_prefix: str = ""
) -> list[_Source]:
    """The sources to walk, partition after partition (a namespace with several
    partitions lists each one's jobs in turn; the token's index counts across them)."""
    per_part = await store.each_part(
        lambda part: _part_sources(store, part.keys, state, job_type, priority, id_prefix)
    )
    return [source for sources in per_part for source in sources]


async def _part_sources(
    store: Store, keys: Keys, state: str, job_type: str, priority: str, id_prefix: str
) -> list[_Source]:
    if id_prefix:  # the id index, in id order; the other filters apply per job
        return [_Source("lex", keys.job_ids(), state, id_prefix)]
    priorities = [priority] if priority else list(PRIORITIES)
    ready: list[_Source] = []
    for p in priorities:
        types = (
            [job_type]
            if job_type
            else sorted(texts(await store.redis.smembers(keys.ready_types(p))))
        )
        ready += [_Source("list", keys.ready(p, t), "enqueued") for t in types]
    by_state = {
        "active": [_Source("zset", keys.leases(), "active")],
        "enqueued": ready,
        "scheduled": [_Source("zset", keys.scheduled(), "scheduled")],
        "retrying": [_Source("zset", keys.retrying(), "retrying")],
        "dead": [_Source("zrev", keys.dead(), "dead")],
        "succeeded": [_Source("zrev", keys.finished(), "succeeded", mixed=True)],
        "cancelled": [_Source("zrev", keys.finished(), "cancelled", mixed=True)],
    }
    if state:
        return by_state[state]
    everything = [
        s
        for name in ("active", "enqueued", "scheduled", "retrying", "dead")
        for s in by_state[name]
    ]
    return [*everything, _Source("zrev", keys.finished(), "")]


async def _slice(store: Store, source: _Source, start: int, count: int) -> list[str]:
    end = start + count - 1
    if source.kind == "list":
        return texts(await store.redis.lrange(source.key, start, end))
    if source.kind == "lex":
        low, high = f"[{source.prefix}", f"[{source.prefix}\xff"
        return texts(await store.redis.zrangebylex(source.key, low, high, start, count))
    if source.kind == "zset":
        return texts(await store.redis.zrange(source.key, start, end))
    return texts(await store.redis.zrevrange(source.key, start, end))


def _narrows(source: _Source, state: str, job_type: str, priority: str, error: str) -> bool:
    """Whether the filters may drop jobs of `source` (a ready list already is one
    priority and type of enqueued jobs; the other sources hold any type)."""
    if error:
        return True
    if source.kind == "list":
        return False
    if source.kind == "lex":
        return bool(state or job_type or priority)
    return bool(job_type or priority or source.mixed)


async def passing_ids(
    store: Store, ids: Sequence[str], state: str, job_type: str, priority: str, needle: str
) -> list[str]:
    """The ids (in order) of jobs that still exist and match the filters ('' = any;
    `needle` is lower-case text the last error must contain). One script call
    (lua/filter_ids.lua) applies them in Redis; a needle with non-ASCII characters is
    matched here instead, with Python's case folding. Callers keep `ids` to a chunk
    (SCAN_CHUNK)."""
    if not ids:
        return []
    in_redis = needle.isascii()
    passed: set[str] = set()
    by_part: dict[int, list[str]] = {}
    for job_id in ids:
        part = store.part_of(job_id)
        if part is not None:
            by_part.setdefault(part.index, []).append(job_id)
    for index, chunk in by_part.items():
        reply = texts(
            await store._run(
                "filter_ids",
                state,
                job_type,
                priority,
                needle if in_redis else "",
                not in_redis,
                chunk,
                part=store.parts[index],
            )
        )
        pairs = zip(reply[0::2], reply[1::2], strict=True)
        passed.update(j for j, error in pairs if in_redis or needle in error.lower())
    return [job_id for job_id in ids if job_id in passed]


async def list_jobs(
    store: Store,
    *,
    state: str = "",
    job_type: str = "",
    priority: str = "",
    page_size: int = 50,
    page_token: str = "",
    id_prefix: str = "",
    error_contains: str = "",
) -> tuple[list[JobRecord], str]:
    """One page of jobs matching the filters ('' means any) and the next page token
    ('' when there is no more). `id_prefix` reads the id index instead of the queues;
    `error_contains` matches the last error's text, case-insensitively.

    At most MAX_SCAN jobs are examined per call: a filter that matches few of them
    gives a short page (maybe empty) with a token to search on from there."""
    if not store.single and state in _NEWEST_FIRST and not id_prefix:
        return await _list_newest_first(
            store, state, job_type, priority, page_size, page_token, error_contains.lower()
        )
    if newest_first.is_token(page_token):
        raise BadPageToken("page_token is not a token from a previous page")
    sources: Sequence[_Source] = await _sources(store, state, job_type, priority, id_prefix)
    index, offset = _decode(page_token) if page_token else (0, 0)
    needle = error_contains.lower()
    page: list[str] = []
    scanned = 0
    slice_size = 4 * page_size
    while index < len(sources) and len(page) < page_size and scanned < MAX_SCAN:
        source = sources[index]
        narrow = _narrows(source, state, job_type, priority, needle)
        # A filter that matches often fills its page from the first few ids read; one
        # that matches rarely gets ever larger reads, up to SLICE.
        want = min(slice_size, MAX_SCAN - scanned) if narrow else page_size - len(page)
        slice_size = min(slice_size * 4, SLICE)
        # One id past those wanted tells whether the source goes on after them.
        ids = await _slice(store, source, offset, want + 1)
        ends_here = len(ids) <= want
        del ids[want:]
        done = 0
        for start in range(0, len(ids), SCAN_CHUNK):
            chunk = ids[start : start + SCAN_CHUNK]
            done = start + len(chunk)
            for job_id in await passing_ids(store, chunk, source.state, job_type, priority, needle):
                page.append(job_id)
                if len(page) == page_size:  # resume right after this one
                    done = start + chunk.index(job_id) + 1
                    break
            if len(page) == page_size:
                break
        scanned += done
        offset += done
        if ends_here and done == len(ids):  # no empty read (or empty last page) for it
            index, offset = index + 1, 0
    more = index < len(sources)
    # A job that ends between the two reads is left out of the page.
    return await store.get_jobs(page), _encode(index, offset) if more else ""


# States listed newest first from one time-scored set per partition, merged.
_NEWEST_FIRST = {
    "dead": lambda keys: keys.dead(),
    "succeeded": lambda keys: keys.finished(),
    "cancelled": lambda keys: keys.finished(),
}


async def _list_newest_first(
    store: Store,
    state: str,
    job_type: str,
    priority: str,
    page_size: int,
    page_token: str,
    needle: str,
) -> tuple[list[JobRecord], str]:
    """One page of a newest-first state over every partition (store/newest_first.py),
    filtered like `list_jobs`, examining at most MAX_SCAN entries per call."""
    if page_token and not newest_first.is_token(page_token):
        raise BadPageToken("page_token is not a token from a previous page")
    try:
        token = page_token
        found: list[str] = []
        scanned = 0
        while len(found) < page_size and scanned < MAX_SCAN:
            want = min(SCAN_CHUNK, MAX_SCAN - scanned)
            entries, next_token = await newest_first.page(store, _NEWEST_FIRST[state], want, token)
            ids = [member for member, _ in entries]
            passed = await passing_ids(store, ids, state, job_type, priority, needle)
            for job_id in passed[: page_size - len(found)]:
                found.append(job_id)
            if len(found) == page_size and passed and found[-1] != ids[-1]:
                # Resume right after the last job shown, not after the whole read.
                member = found[-1]
                score = next(s for m, s in entries if m == member)
                next_token = newest_first.encode(score, member)
            scanned += len(ids)
            token = next_token
            if not token:
                break
    except newest_first.BadToken as exc:
        raise BadPageToken(str(exc)) from None
    return await store.get_jobs(found), token
