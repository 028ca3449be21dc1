"""arq on Redis: two worker processes, max_jobs 16 each, default poll delay (0.5 s)."""

from __future__ import annotations

from typing import Any, ClassVar

from arq import create_pool  # type: ignore[import-not-found, unused-ignore]
from arq.connections import ArqRedis, RedisSettings  # type: ignore[import-not-found, unused-ignore]

from benchmarks import job_io, probe
from benchmarks.peers.base import REDIS_URL, AsyncAdapter, script


async def noop(ctx: dict[str, Any], payload: dict[str, Any]) -> None:
    """The no-op job (one Redis INCR with "io" in the payload)."""
    probe.on_job(payload)
    await job_io.atouch(payload)


class WorkerSettings:
    """`arq benchmarks.peers.arq_app.WorkerSettings`."""

    functions: ClassVar[list[Any]] = [noop]
    redis_settings = RedisSettings.from_dsn(REDIS_URL)
    max_jobs = 16


class ArqAdapter(AsyncAdapter):
    name = "arq"
    package = "arq"
    notes = "2 processes, max_jobs 16, poll_delay 0.5 s (default)"
    pool: ArqRedis

    def worker_commands(self) -> list[list[str]]:
        cmd = [script("arq"), "benchmarks.peers.arq_app.WorkerSettings"]
        return [cmd, list(cmd)]

    async def connect(self) -> None:
        self.pool = await create_pool(RedisSettings.from_dsn(REDIS_URL))

    async def aenqueue(self, payload: dict[str, Any]) -> None:
        await self.pool.enqueue_job("noop", payload)

    async def aclose(self) -> None:
        await self.pool.aclose()


ADAPTER = ArqAdapter
