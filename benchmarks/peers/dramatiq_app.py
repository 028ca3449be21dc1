"""Dramatiq 2 on Redis: 2 processes x 8 threads (its defaults on 2 cores), no retries."""

from __future__ import annotations

from typing import Any

import dramatiq  # type: ignore[import-not-found, unused-ignore]
from dramatiq.brokers.redis import RedisBroker  # type: ignore[import-not-found, unused-ignore]

from benchmarks import job_io, probe
from benchmarks.peers.base import REDIS_URL, Adapter, python

broker = RedisBroker(url=REDIS_URL)
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name="bench", max_retries=0)  # type: ignore[untyped-decorator, unused-ignore]
def noop(payload: dict[str, Any]) -> None:
    """The no-op job (one Redis INCR with "io" in the payload)."""
    probe.on_job(payload)
    job_io.touch(payload)


class DramatiqAdapter(Adapter):
    name = "dramatiq"
    package = "dramatiq"
    notes = "2 processes x 8 threads, default middleware"

    def worker_commands(self) -> list[list[str]]:
        return [
            [
                python(),
                "-m",
                "dramatiq",
                "benchmarks.peers.dramatiq_app",
                "--processes",
                "2",
                "--threads",
                "8",
                "--queues",
                "bench",
            ]
        ]

    def enqueue(self, payload: dict[str, Any]) -> None:
        noop.send(payload)


ADAPTER = DramatiqAdapter
