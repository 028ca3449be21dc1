"""Helpers for the cross-partition guarantee tests (tests/cluster/test_guarantees.py):
brokers on the session's 3-master cluster, in-process workers, handler recorders."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from gopher.v1 import admin_service_pb2 as apb
from gopher.v1 import job_pb2
from gopher.v1 import job_service_pb2 as jpb
from gopher.v1 import worker_service_pb2 as wpb

from gopher_client import AsyncClient, Job
from gopher_server.store.partitions import Layout
from gopher_worker import Worker
from tests.conftest import CLUSTER_PARTITIONS, broker_config
from tests.support import BrokerThread

# The namespace's layout as the brokers create it, to say which partition a job is in.
LAYOUT = Layout("gopher", CLUSTER_PARTITIONS)


def partition(job_id: str) -> int:
    """The partition holding `job_id` (its `p<k>-` prefix, or where it hashes)."""
    index = LAYOUT.partition_of(job_id)
    assert index is not None, job_id
    return index


@dataclass
class Brokers:
    """Starts brokers on one cluster URL, in partitioned cluster mode; stops them all."""

    url: str
    started: list[BrokerThread] = field(default_factory=list)

    def start(self, n: int = 3, clock: Any = None, **overrides: object) -> list[BrokerThread]:
        """`n` more brokers with these config overrides (and an optional shared clock)."""
        made = []
        for _ in range(n):
            settings = {"redis_cluster": True, "partitions": CLUSTER_PARTITIONS, **overrides}
            config = broker_config(self.url, **settings)
            made.append(BrokerThread(config, clock).start())
        self.started += made
        return made

    def stop(self) -> None:
        for broker in self.started:
            broker.stop()


def brokers_on(url: str) -> Iterator[Brokers]:
    """Fixture body: a Brokers on `url`, stopped after the test."""
    made = Brokers(url)
    yield made
    made.stop()


@asynccontextmanager
async def clients_of(brokers: Sequence[BrokerThread]) -> AsyncIterator[list[AsyncClient]]:
    """One AsyncClient per broker, closed at the end."""
    clients = [AsyncClient(b.address) for b in brokers]
    try:
        yield clients
    finally:
        for client in clients:
            await client.close()


@asynccontextmanager
async def running(workers: Sequence[Worker]) -> AsyncIterator[None]:
    """Start the workers; drain them at the end (a second at most)."""
    for worker in workers:
        await worker.start()
    try:
        yield
    finally:
        for worker in workers:
            await worker.drain(1)


async def submit_all(
    clients: Sequence[AsyncClient], requests: Sequence[jpb.SubmitJobRequest], batch: int = 1000
) -> list[str]:
    """Submit in SubmitJobs batches, spread round-robin over the clients' brokers."""
    ids: list[str] = []
    for n, start in enumerate(range(0, len(requests), batch)):
        ids += await clients[n % len(clients)].submit_jobs(requests[start : start + batch])
    return ids


def request(job_type: str, **fields: Any) -> jpb.SubmitJobRequest:
    """A SubmitJobRequest with an empty JSON payload unless given."""
    fields.setdefault("payload_json", "{}")
    return jpb.SubmitJobRequest(type=job_type, **fields)


@dataclass
class Overlap:
    """Records handler runs of one type: start times and the most running at once.
    Every worker of a test runs on the test's event loop, so the count is exact."""

    running: int = 0
    peak: int = 0
    starts: list[float] = field(default_factory=list)
    finished: int = 0

    @asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        self.running += 1
        self.peak = max(self.peak, self.running)
        self.starts.append(time.monotonic())
        try:
            yield
        finally:
            self.running -= 1
            self.finished += 1


async def deliveries(
    client: AsyncClient, worker_id: str, types: list[str], n: int
) -> tuple[Any, list[job_pb2.LeasedJob]]:
    """Open a raw StreamJobs call of capacity `n` and return it with its first `n`
    delivered jobs (awaited directly: grpc's cancel reaches the server only from the
    task that iterated the call)."""
    call = client.stream_jobs(
        wpb.StreamJobsRequest(worker_id=worker_id, job_types=types, capacity=n)
    )
    leased: list[job_pb2.LeasedJob] = []
    async with asyncio.timeout(10):
        async for response in call:
            leased += response.jobs
            if len(leased) >= n:
                return call, leased
    raise AssertionError(f"stream ended after {len(leased)} of {n} jobs")


async def every_job(client: AsyncClient, **filters: Any) -> list[Job]:
    """Every job matching ListJobs `filters`, page after page."""
    jobs: list[Job] = []
    token = ""
    while True:
        page = await client.list_jobs(page_size=500, page_token=token, **filters)
        jobs += page.jobs
        if not (token := page.next_page_token):
            return jobs


async def depths(client: AsyncClient) -> Counter[str]:
    """Ready jobs per type, summed over priorities (GetQueueStats)."""
    stats = await client.call(client.admin.GetQueueStats, apb.GetQueueStatsRequest())
    total: Counter[str] = Counter()
    for queue in stats.queues:
        total.update(dict(queue.depth_by_type))
    return total


async def read_feed(clients: Sequence[AsyncClient], token: str) -> tuple[list[apb.FeedEvent], str]:
    """Every feed event after `token`, 17 a page, each page read through the next
    client's broker; with the token to read on from."""
    events: list[apb.FeedEvent] = []
    for n in itertools.count():
        page = await clients[n % len(clients)].list_events(after_id=token, limit=17)
        assert not page.truncated
        events += page.events
        if not page.events:
            return events, page.last_id
        token = page.last_id
    raise AssertionError("unreachable")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]
