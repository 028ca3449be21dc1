"""Baseline without a task framework: redis-py, the reliable-queue pattern (BLMOVE to a
processing list, LREM after the job). Two worker processes, one job at a time each:
`python -m benchmarks.peers.redis_list_app`."""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from benchmarks import job_io, probe
from benchmarks.peers.base import REDIS_URL, Adapter, python

QUEUE, PROCESSING = "bench:list:queue", "bench:list:processing"


def work() -> None:
    """Worker loop: move one message, run it, drop it from the processing list."""
    conn = redis.Redis.from_url(REDIS_URL)
    while True:
        raw = conn.blmove(QUEUE, PROCESSING, 1, "RIGHT", "LEFT")
        if raw is None:
            continue
        payload = json.loads(raw)["payload"]
        probe.on_job(payload)
        job_io.touch(payload)
        conn.lrem(PROCESSING, 1, raw)  # type: ignore[arg-type, unused-ignore]


class RedisListAdapter(Adapter):
    name = "redis-py"
    package = "redis"
    notes = "plain LPUSH/BLMOVE/LREM, 2 processes; bulk = pipelined LPUSH"
    bulk_api = "pipeline"

    def __init__(self) -> None:
        self.conn = redis.Redis.from_url(REDIS_URL)

    def worker_commands(self) -> list[list[str]]:
        cmd = [python(), "-m", "benchmarks.peers.redis_list_app"]
        return [cmd, list(cmd)]

    @staticmethod
    def _message(payload: dict[str, Any]) -> str:
        return json.dumps({"fn": "noop", "payload": payload})

    def enqueue(self, payload: dict[str, Any]) -> None:
        self.conn.lpush(QUEUE, self._message(payload))

    def enqueue_bulk(self, n: int, payload: dict[str, Any]) -> float | None:
        started = time.perf_counter()
        for i in range(0, n, 1000):
            pipe = self.conn.pipeline(transaction=False)
            for _ in range(min(1000, n - i)):
                pipe.lpush(QUEUE, self._message(payload))
            pipe.execute()
        return time.perf_counter() - started

    def close(self) -> None:
        self.conn.close()


ADAPTER = RedisListAdapter

if __name__ == "__main__":
    work()
