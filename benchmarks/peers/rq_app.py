"""RQ 2 on Redis: two `rq worker` processes. RQ's default worker forks a child per
job; `rq` here uses SimpleWorker (runs jobs in the worker process, the usual choice
for short jobs), `rq-fork` the default forking worker."""

from __future__ import annotations

import time
from typing import Any

import redis
from rq import Queue  # type: ignore[import-not-found, unused-ignore]

from benchmarks import job_io, probe
from benchmarks.peers.base import REDIS_URL, Adapter, script


def noop(payload: dict[str, Any]) -> None:
    """The no-op job (one Redis INCR with "io" in the payload)."""
    probe.on_job(payload)
    job_io.touch(payload)


class RQAdapter(Adapter):
    name = "rq"
    package = "rq"
    notes = "2 x SimpleWorker; bulk = Queue.enqueue_many (pipelined)"
    bulk_api = "enqueue_many"
    worker_class = "rq.worker.SimpleWorker"

    def __init__(self) -> None:
        self.conn = redis.Redis.from_url(REDIS_URL)
        self.queue = Queue("bench", connection=self.conn)

    def worker_commands(self) -> list[list[str]]:
        cmd = [
            script("rq"),
            "worker",
            "bench",
            "--url",
            REDIS_URL,
            "--logging_level",
            "WARNING",
            "--worker-class",
            self.worker_class,
        ]
        return [cmd, list(cmd)]

    def enqueue(self, payload: dict[str, Any]) -> None:
        self.queue.enqueue(noop, payload)

    def enqueue_bulk(self, n: int, payload: dict[str, Any]) -> float | None:
        started = time.perf_counter()
        for i in range(0, n, 1000):
            jobs = [Queue.prepare_data(noop, args=(payload,)) for _ in range(min(1000, n - i))]
            self.queue.enqueue_many(jobs)
        return time.perf_counter() - started

    def close(self) -> None:
        self.conn.close()


class RQForkAdapter(RQAdapter):
    name = "rq-fork"
    notes = "2 x default Worker (fork per job)"
    worker_class = "rq.worker.Worker"

    def worker_env(self) -> dict[str, str]:
        return {"BENCH_PROBE_SYNC": "1"}  # the forked child exits before a timed flush


ADAPTER = RQAdapter
