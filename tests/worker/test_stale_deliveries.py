"""A worker stopped (SIGSTOP) past its leases must not run what it had been sent once it
continues: the broker took those jobs back, and they may have run elsewhere already."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import httpx
import pytest
import redis

from gopher_client import Client, is_final
from gopher_server.embedded_redis import free_port
from tests.lifecycle.handlers import runs_key
from tests.observability.test_broker_metrics import samples
from tests.processes import Proc, start_broker, start_worker
from tests.support import wait_until

JOBS = 4
DROPPED_EXPIRED = ("gopher_worker_deliveries_dropped_total", (("reason", "expired"),))


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    """Processes a test started; all are killed at the end (a stopped one included)."""
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.signal(signal.SIGCONT)
        proc.kill()


def runs(url: str, job_id: str) -> list[str]:
    """ "<pid>:<attempt>" of every execution of the job's handler."""
    with redis.Redis.from_url(url, decode_responses=True) as r:
        return list(r.lrange(runs_key(job_id), 0, -1))


def metric(port: int, key: tuple[str, tuple[tuple[str, str], ...]]) -> float:
    """One sample of a worker's /metrics (0 when absent)."""
    return samples(httpx.get(f"http://127.0.0.1:{port}/metrics").text).get(key, 0.0)


def test_deliveries_read_after_sigcont_past_their_lease_never_start(
    redis_url: str, procs: list[Proc]
) -> None:
    broker, address = start_broker(redis_url)
    procs.append(broker)
    port = free_port()
    stopped = start_worker(
        address,
        redis_url,
        "--worker-id",
        "stopped",
        "--metrics-port",
        str(port),
        concurrency=JOBS,
    )
    procs.append(stopped)
    client = Client(address)
    wait_until(lambda: client.list_workers(), what="the worker's stream open")
    stopped.signal(signal.SIGSTOP)
    # Delivered to the stopped worker: the messages wait unread in its socket buffer.
    ids = [client.submit_job("record", {}, lease_ttl_s=1, retries=3) for _ in range(JOBS)]
    wait_until(
        lambda: all(client.get_job(i).worker_id == "stopped" for i in ids),
        what="every job leased to the stopped worker",
    )
    healthy = start_worker(address, redis_url, "--worker-id", "healthy", concurrency=JOBS)
    procs.append(healthy)
    # The leases expire, the broker takes the jobs back, and they succeed elsewhere.
    done = wait_until(lambda: all(is_final(client.get_job(i)) for i in ids), 30, "jobs final")
    assert done
    stopped.signal(signal.SIGCONT)
    # Until the worker has dealt with every delivery it read: dropped it, or ran it.
    wait_until(
        lambda: (
            metric(port, DROPPED_EXPIRED) == JOBS or any(len(runs(redis_url, i)) > 1 for i in ids)
        ),
        15,
        "the continued worker's buffered deliveries handled",
    )
    stopped_pid = str(stopped.popen.pid)
    for job_id in ids:
        job = client.get_job(job_id)
        assert job.state == 5 and job.attempt == 2, job
        assert job.errors[0].error_type == "LeaseExpired"
        executions = runs(redis_url, job_id)
        assert len(executions) == 1, executions  # only the healthy worker's run
        assert not executions[0].startswith(stopped_pid + ":")
    assert metric(port, DROPPED_EXPIRED) == JOBS
    dropped_lines = [line for line in stopped.lines if "dropped unstarted" in line]
    assert len(dropped_lines) == JOBS, stopped.output()  # once per delivery
    client.close()
