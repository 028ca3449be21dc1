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

from gopher_server.store._text import texts
from gopher_server.store.keys import PRIORITIES
from gopher_server.store.records import JobRecord
from gopher_server.store.store import Store

# Most ids examined per call, so a sparse filter cannot make one call run unbounded;
# the caller gets a short page and a token to continue.
MAX_SCAN = 5_000


class BadPageToken(ValueError):
    """The page token was not produced by this listing."""


@dataclass(frozen=True)
class _Source:
    kind: str  # "list", "zset" (oldest first), "zrev" (newest first) or "lex" (id index)
    key: str
    state: str  # state the source holds, used to filter shared sets
    prefix: str = ""  # for "lex": the id prefix


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
        "succeeded": [_Source("zrev", keys.finished(), "succeeded")],
        "cancelled": [_Source("zrev", keys.finished(), "cancelled")],
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


def _matches(
    record: JobRecord, source: _Source, job_type: str, priority: str, error_contains: str
) -> bool:
    if source.state and record.state != source.state:
        return False
    if job_type and record.type != job_type:
        return False
    if error_contains and error_contains.lower() not in record.last_error.lower():
        return False
    return not priority or record.priority == priority


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
    `error_contains` matches the last error's text, case-insensitively."""
    sources: Sequence[_Source] = await _sources(store, state, job_type, priority, id_prefix)
    index, offset = _decode(page_token) if page_token else (0, 0)
    page: list[JobRecord] = []
    scanned = 0
    while index < len(sources) and len(page) < page_size and scanned < MAX_SCAN:
        source = sources[index]
        chunk = max(page_size - len(page), 50)
        ids = await _slice(store, source, offset, chunk)
        if not ids:
            index, offset = index + 1, 0
            continue
        records = {r.id: r for r in await store.get_jobs(ids)}
        for job_id in ids:
            offset += 1
            scanned += 1
            record = records.get(job_id)
            if record and _matches(record, source, job_type, priority, error_contains):
                page.append(record)
                if len(page) == page_size:
                    break
    more = index < len(sources)
    return page, _encode(index, offset) if more else ""
