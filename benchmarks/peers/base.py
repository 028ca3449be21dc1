"""What the peer driver needs from each peer system.

An adapter module (`celery_app`, `dramatiq_app`, ...) defines the peer's no-op task,
calling `benchmarks.probe.on_job(payload)` first, and an `Adapter` subclass that says
how to enqueue and how to start 2 worker processes with idiomatic settings for a
2-core machine. Adapters run inside the peer virtualenv: standard library, redis-py
and the peer itself only.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from importlib import metadata
from typing import Any

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


class Adapter:
    """One peer system. Subclasses set the class attributes and override the methods."""

    name = ""
    package = ""  # distribution whose version is reported
    notes = ""  # settings worth knowing when reading its numbers
    bulk_api = ""  # name of the batch enqueue API, "" when the peer has none
    single_concurrency = 1  # calls in flight for the single-enqueue scenario

    @property
    def version(self) -> str:
        """Installed version of the peer."""
        return metadata.version(self.package)

    def worker_commands(self) -> list[list[str]]:
        """Commands that start the worker processes (all of them together)."""
        raise NotImplementedError

    def worker_env(self) -> dict[str, str]:
        """Extra environment for the worker processes."""
        return {}

    def enqueue(self, payload: dict[str, Any]) -> None:
        """Enqueue one no-op job (blocking)."""
        raise NotImplementedError

    def enqueue_single(self, n: int, payload: dict[str, Any]) -> float:
        """Enqueue `n` jobs one call each the idiomatic way; return seconds taken."""
        started = time.perf_counter()
        for _ in range(n):
            self.enqueue(payload)
        return time.perf_counter() - started

    def enqueue_one_at_a_time(self, n: int, payload: dict[str, Any]) -> float:
        """Enqueue `n` jobs from one thread, each call finished before the next (async
        peers: one awaited call at a time); return seconds taken."""
        return self.enqueue_single(n, payload)

    def enqueue_bulk(self, n: int, payload: dict[str, Any]) -> float | None:
        """Enqueue `n` jobs with the batch API; seconds taken, None without one."""
        return None

    def fill(self, n: int, payload: dict[str, Any]) -> None:
        """Queue `n` jobs as fast as the peer allows (untimed set-up)."""
        if self.enqueue_bulk(n, payload) is None:
            self.enqueue_single(n, payload)

    def close(self) -> None:
        """Release client connections."""


class AsyncAdapter(Adapter):
    """An asyncio peer: single enqueues run `single_concurrency` calls in flight, on one
    event loop that lives as long as the adapter (the latency scenario reuses it)."""

    single_concurrency = 64

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self.connect())

    async def connect(self) -> None:
        """Open the peer's client."""

    async def aenqueue(self, payload: dict[str, Any]) -> None:
        """Enqueue one job."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Close the peer's client."""

    def enqueue(self, payload: dict[str, Any]) -> None:
        self.loop.run_until_complete(self.aenqueue(payload))

    def enqueue_single(self, n: int, payload: dict[str, Any]) -> float:
        return self.loop.run_until_complete(
            run_concurrently(n, self.single_concurrency, lambda: self.aenqueue(payload))
        )

    def enqueue_one_at_a_time(self, n: int, payload: dict[str, Any]) -> float:
        return self.loop.run_until_complete(run_concurrently(n, 1, lambda: self.aenqueue(payload)))

    def close(self) -> None:
        self.loop.run_until_complete(self.aclose())
        self.loop.close()


async def run_concurrently(n: int, concurrency: int, call: Callable[[], Awaitable[Any]]) -> float:
    """Await `call()` `n` times with `concurrency` in flight; return seconds taken."""
    remaining = [n]

    async def lane() -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return time.perf_counter() - started


def python() -> str:
    """This virtualenv's interpreter, for worker commands."""
    return sys.executable


def script(name: str) -> str:
    """A console script of this virtualenv."""
    return os.path.join(os.path.dirname(sys.executable), name)
