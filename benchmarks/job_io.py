"""The realistic job body: one Redis INCR through redis-py, like a job that touches a
datastore. Every system's handler calls `touch(payload)` (sync systems) or
`await atouch(payload)` (async systems) after `probe.on_job`; only payloads with
"io" set make the call, so the no-op scenarios stay no-ops.

The counter lives in database 1 of the run's Redis ($BENCH_REDIS_URL with its
database replaced), so it never touches a queue's keys. One client per process (and
per event loop for the async one), made on first use; a forked child makes its own.
Standard library and redis-py only: this runs in every peer's virtualenv.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio

IO_KEY = "bench:io:count"
IO_DB = 1
_sync: Any = None
_async: Any = None


def io_url(base: str | None = None) -> str:
    """`base` (default $BENCH_REDIS_URL) pointed at database IO_DB."""
    url = urlsplit(base or os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    return urlunsplit(url._replace(path=f"/{IO_DB}"))


def _forget_parent_clients() -> None:
    global _sync, _async
    _sync = None
    _async = None


os.register_at_fork(after_in_child=_forget_parent_clients)


def wants_io(payload: Any) -> bool:
    """Whether this job is a realistic one."""
    return isinstance(payload, dict) and bool(payload.get("io"))


def touch(payload: Any) -> None:
    """The realistic body for thread- or process-based workers."""
    global _sync
    if not wants_io(payload):
        return
    if _sync is None:
        _sync = redis.Redis.from_url(io_url())
    _sync.incr(IO_KEY)


async def atouch(payload: Any) -> None:
    """The realistic body for asyncio workers (one event loop per process)."""
    global _async
    if not wants_io(payload):
        return
    if _async is None:
        _async = redis.asyncio.Redis.from_url(io_url())
    await _async.incr(IO_KEY)


async def aclose() -> None:
    """Close this process's clients (workers just exit; tests close them)."""
    global _sync, _async
    if _sync is not None:
        _sync.close()
    if _async is not None:
        await _async.aclose()
    _sync = _async = None


def count(redis_url: str) -> int:
    """INCRs done so far against the Redis at `redis_url` (harness side)."""
    with redis.Redis.from_url(io_url(redis_url)) as c:
        return int(c.get(IO_KEY) or 0)
