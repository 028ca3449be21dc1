"""taskiq with taskiq-redis's ListQueueBroker (a Redis list, no acknowledgements):
`taskiq worker --workers 2`, default max async tasks."""

from __future__ import annotations

from typing import Any

from taskiq_redis import ListQueueBroker  # type: ignore[import-not-found, unused-ignore]

from benchmarks import job_io, probe
from benchmarks.peers.base import REDIS_URL, AsyncAdapter, script

broker = ListQueueBroker(url=REDIS_URL, queue_name="bench")


@broker.task(task_name="bench.noop")  # type: ignore[untyped-decorator, unused-ignore]
async def noop(payload: dict[str, Any]) -> None:
    """The no-op job (one Redis INCR with "io" in the payload)."""
    probe.on_job(payload)
    await job_io.atouch(payload)


class TaskiqAdapter(AsyncAdapter):
    name = "taskiq"
    package = "taskiq"
    notes = "ListQueueBroker (no acks), 2 worker processes"

    def worker_commands(self) -> list[list[str]]:
        return [
            [
                script("taskiq"),
                "worker",
                "benchmarks.peers.taskiq_app:broker",
                "--workers",
                "2",
                "--log-level",
                "WARNING",
            ]
        ]

    async def connect(self) -> None:
        await broker.startup()

    async def aenqueue(self, payload: dict[str, Any]) -> None:
        await noop.kiq(payload)

    async def aclose(self) -> None:
        await broker.shutdown()


ADAPTER = TaskiqAdapter
