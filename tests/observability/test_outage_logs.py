"""A Redis outage logs one WARNING per broker component when Redis goes away and one
INFO when it is back: no ERROR, no traceback, no line per retry."""

from __future__ import annotations

import asyncio
import logging
import re
import time

import pytest

from gopher_client import AsyncClient
from gopher_server.embedded_redis import EmbeddedRedis, find_redis_binary
from gopher_worker import Job, Registry, Worker
from tests.conftest import broker_config
from tests.support import BrokerThread, until

# Background components of a broker (their log names), and how long Redis stays away:
# long enough for every one of them to fail many times at the intervals below.
COMPONENTS = (
    "promoter",
    "lease-recoverer",
    "cron",
    "janitor",
    "stats-refresher",
    "dispatch",
    "pub/sub",
)
OUTAGE_S = 3.0


def broker_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("gopher_server")]


def count(records: list[logging.LogRecord], level: int, pattern: str) -> int:
    return sum(1 for r in records if r.levelno == level and re.search(pattern, r.getMessage()))


async def test_an_outage_logs_one_warning_and_one_info_per_component(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    redis = EmbeddedRedis(binary=find_redis_binary(prefer_path=True))
    redis.start()
    config = broker_config(
        redis.url, janitor_interval_s=0.2, stats_interval_s=0.2, heartbeat_interval_s=0.3
    )
    broker = BrokerThread(config).start()
    handlers = Registry()

    @handlers.handler("ok")
    async def ok(job: Job) -> None:
        return None

    worker = Worker(handlers, broker.address, concurrency=2)
    await worker.start()
    try:
        async with AsyncClient(broker.address) as client:
            await asyncio.wait_for(client.wait_for(await client.submit_job("ok", {})), 20)
            caplog.clear()
            redis.stop()
            down_since = time.monotonic()
            await until(
                lambda: asyncio.sleep(0.05, time.monotonic() - down_since > OUTAGE_S),
                OUTAGE_S + 5,
                "the outage to last",
            )
            restarted = EmbeddedRedis(port=redis.port, data_dir=redis.data_dir, binary=redis.binary)
            restarted.start()
            redis = restarted

            async def all_back() -> bool:
                records = broker_records(caplog)
                return all(
                    count(records, logging.INFO, rf"^{c}: redis is back") for c in COMPONENTS
                )

            job_id = await client.submit_job("ok", {})
            await asyncio.wait_for(client.wait_for(job_id), 30)
            await until(all_back, 20, "every component to log that redis is back")
    finally:
        await worker.drain(1)
        broker.stop()
        redis.cleanup()

    records = broker_records(caplog)
    loud = [r for r in records if r.levelno >= logging.ERROR or r.exc_info]
    assert loud == [], [r.getMessage() for r in loud]
    for component in COMPONENTS:
        assert count(records, logging.WARNING, rf"^{component}: redis unavailable") == 1, component
        assert count(records, logging.INFO, rf"^{component}: redis is back") == 1, component
    # Every other warning is a single line of its own kind (health, pub/sub), not a
    # line per retry.
    others = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(others) <= len(COMPONENTS) + 3, others
