"""No per-job work touches the control slot: on a 3-master cluster, the commands that
reach `{gopher}` (worker registry, schedules, limits, layout) come at the same rate
whether the namespace is idle or running thousands of jobs. MONITOR on the control
slot's master sees every command, those run inside scripts included."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from redis.crc import key_slot

from gopher_client import AsyncClient, submit_request
from gopher_server.config import ServerConfig
from gopher_server.embedded_cluster import EmbeddedCluster
from gopher_worker import Job, Registry, Worker
from tests.conftest import CLUSTER_PARTITIONS, broker_config, flushed_cluster
from tests.support import BrokerThread, until

CONTROL = '"{gopher}:'  # a command naming a control-slot key, as MONITOR quotes it


class ControlMonitor:
    """MONITOR on one node in a thread: the times of commands naming control keys."""

    def __init__(self, host: str, port: int) -> None:
        self._sock = socket.create_connection((host, port), timeout=5)
        self._sock.sendall(b"MONITOR\r\n")
        self.times: list[float] = []
        self.seen = 0
        self._stop = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        buffer = b""
        self._sock.settimeout(0.2)
        while not self._stop:
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            *lines, buffer = buffer.split(b"\r\n")
            for line in lines:
                self.seen += 1
                if CONTROL.encode() in line:
                    self.times.append(time.monotonic())

    def count(self, start: float, end: float) -> int:
        return sum(start <= t < end for t in self.times)

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self._sock.close()


@pytest.fixture
def control_monitor(session_cluster: EmbeddedCluster) -> Iterator[ControlMonitor]:
    flushed_cluster(session_cluster)
    slot = key_slot(b"{gopher}")
    owner = next(
        node
        for node in session_cluster.live_masters()
        if any(lo <= slot <= hi for lo, hi in session_cluster.slots_of(node))
    )
    monitor = ControlMonitor("127.0.0.1", owner.port)
    yield monitor
    monitor.close()


async def test_the_control_slot_sees_no_per_job_commands(
    session_cluster: EmbeddedCluster, control_monitor: ControlMonitor
) -> None:
    config: ServerConfig = broker_config(
        session_cluster.seed_url, redis_cluster=True, partitions=CLUSTER_PARTITIONS
    )
    broker = BrokerThread(config).start()
    registry = Registry()
    done: list[str] = []

    @registry.handler("noop")
    async def noop(job: Job) -> None:
        done.append(job.id)

    worker = Worker(registry, broker.address, concurrency=16)
    await worker.start()
    try:
        async with AsyncClient(broker.address) as client:

            async def all_run() -> bool:
                return len(done) >= jobs

            first = await client.submit_job("noop", {})
            await asyncio.wait_for(client.wait_for(first), 10)  # the worker is streaming
            done.clear()
            # The idle rate: heartbeats, type refreshes, cron and stats reads.
            idle_start = time.monotonic()
            await asyncio.sleep(3)  # a measurement window, not a wait for something
            idle_end = time.monotonic()
            idle_rate = control_monitor.count(idle_start, idle_end) / (idle_end - idle_start)
            jobs = 3000
            busy_start = time.monotonic()
            for _ in range(0, jobs, 500):
                await client.submit_jobs([submit_request("noop", {}) for _n in range(500)])
            await until(all_run, 60, "every job run")
            busy_end = time.monotonic()
        busy = control_monitor.count(busy_start, busy_end)
        expected_idle = idle_rate * (busy_end - busy_start)
        assert control_monitor.seen > jobs  # the monitor saw the partitions' traffic
        # Job-driven control commands: what the busy window saw beyond the idle rate.
        per_job = max(0.0, busy - expected_idle) / jobs
        assert per_job < 0.01, (busy, expected_idle, idle_rate)
    finally:
        await worker.drain(2)
        broker.stop()
