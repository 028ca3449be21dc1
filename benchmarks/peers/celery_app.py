"""Celery 5 on Redis: prefork pool with 2 processes (Celery's default for 2 cores),
results ignored, default prefetch (4 per process), gossip/mingle/heartbeat off."""

from __future__ import annotations

from typing import Any

from celery import Celery  # type: ignore[import-not-found, unused-ignore]

from benchmarks import job_io, probe
from benchmarks.peers.base import REDIS_URL, Adapter, python

app = Celery("bench", broker=REDIS_URL)
app.conf.update(
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    task_default_queue="bench",
)


@app.task(name="bench.noop")  # type: ignore[untyped-decorator, unused-ignore]
def noop(payload: dict[str, Any]) -> None:
    """The no-op job (one Redis INCR with "io" in the payload)."""
    probe.on_job(payload)
    job_io.touch(payload)


class CeleryAdapter(Adapter):
    name = "celery"
    package = "celery"
    notes = "prefork, 2 processes, prefetch 4, ignore_result"

    def worker_commands(self) -> list[list[str]]:
        return [
            [
                python(),
                "-m",
                "celery",
                "-A",
                "benchmarks.peers.celery_app",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "2",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-Q",
                "bench",
            ]
        ]

    def enqueue(self, payload: dict[str, Any]) -> None:
        noop.delay(payload)


ADAPTER = CeleryAdapter
