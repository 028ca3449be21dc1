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

from gopher_server.store import schema
from gopher_server.store._text import text, texts
from gopher_server.store.keys import PRIORITIES
from gopher_server.store.records import JobRecord
from gopher_server.store.store import Store

# Most ids examined per call, so a sparse filter cannot make one call run unbounded;
# the caller gets a short page and a token to continue. Sized so a call that examines
# all of them stays well under the dashboard's 300 ms per page (docs/benchmarks.md).
MAX_SCAN = 5_000
# Ids whose filter fields are read per round trip while scanning.
SCAN_CHUNK = 1_000
# The hash fields the filters look at, in the order `_keeps` unpacks them.
FILTER_FIELDS = tuple(schema.JOB_FIELD[a].name for a in ("state", "type", "priority", "last_error"))
PRIORITY_UNSTORED = str(schema.JOB_FIELD["priority"].default)  # what an absent 'prio' means


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
    keys = store.keys
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


def _keeps(
    row: Sequence[str | None], source: _Source, job_type: str, priority: str, needle: str
) -> bool:
    state, kind, prio, last_error = row
    if state is None:  # gone since the id was read
        return False
    if source.state and state != source.state:
        return False
    if job_type and kind != job_type:
        return False
    if needle and needle not in (last_error or "").lower():
        return False
    return not priority or (prio or PRIORITY_UNSTORED) == priority


async def _filter_fields(store: Store, ids: Sequence[str]) -> list[list[str | None]]:
    """The fields the filters look at, for each id, in one round trip (a few short
    fields instead of whole records: most of a filtered scan is thrown away)."""
    async with store.redis.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.hmget(store.keys.job(job_id), *FILTER_FIELDS)
        rows = await pipe.execute()
    return [[None if v is None else text(v) for v in row] for row in rows]


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
    sources: Sequence[_Source] = await _sources(store, state, job_type, priority, id_prefix)
    index, offset = _decode(page_token) if page_token else (0, 0)
    needle = error_contains.lower()
    page: list[str] = []
    scanned = 0
    while index < len(sources) and len(page) < page_size and scanned < MAX_SCAN:
        source = sources[index]
        narrow = _narrows(source, state, job_type, priority, needle)
        chunk = min(SCAN_CHUNK, MAX_SCAN - scanned) if narrow else page_size - len(page)
        # One id past the chunk tells whether the source goes on after it.
        ids = await _slice(store, source, offset, chunk + 1)
        ends_here = len(ids) <= chunk
        ids = ids[:chunk]
        done = 0
        for job_id, row in zip(ids, await _filter_fields(store, ids), strict=True):
            done += 1
            scanned += 1
            if _keeps(row, source, job_type, priority, needle):
                page.append(job_id)
                if len(page) == page_size:
                    break
        offset += done
        if ends_here and done == len(ids):  # no empty read (or empty last page) for it
            index, offset = index + 1, 0
    more = index < len(sources)
    # A job that ends between the two reads is left out of the page.
    return await store.get_jobs(page), _encode(index, offset) if more else ""
