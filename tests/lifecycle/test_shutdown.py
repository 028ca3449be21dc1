"""Graceful shutdown of workers (SIGTERM drains) and brokers (streams end cleanly)."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
import redis

from gopher_client import Client, is_final
from tests.lifecycle.handlers import runs_key
from tests.processes import Proc, start_broker, start_worker, wait_exit
from tests.support import wait_until


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    """Processes a test started; all are killed at the end."""
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.kill()


def started_runs(url: str, job_id: str) -> int:
    with redis.Redis.from_url(url) as r:
        return int(r.llen(runs_key(job_id)))


def test_sigterm_lets_running_jobs_finish(
    redis_url: str, record_url: str, broker_args: list[str], procs: list[Proc]
) -> None:
    broker, address = start_broker(redis_url, None, *broker_args)
    procs.append(broker)
    worker = start_worker(address, record_url, "--grace", "20", concurrency=2)
    procs.append(worker)
    client = Client(address)
    job_id = client.submit_job("record", {"sleep_s": 1.0})
    wait_until(lambda: started_runs(record_url, job_id), what="job started")
    worker.signal(signal.SIGTERM)
    assert wait_exit(worker, 20) == 0
    job = client.get_job(job_id)
    assert job.state == 5 and job.attempt == 1  # finished during the drain, not re-run


def test_sigterm_hands_back_what_cannot_finish_without_burning_an_attempt(
    redis_url: str, record_url: str, broker_args: list[str], procs: list[Proc]
) -> None:
    broker, address = start_broker(redis_url, None, *broker_args)
    procs.append(broker)
    worker = start_worker(address, record_url, "--grace", "0.3", concurrency=1)
    procs.append(worker)
    client = Client(address)
    job_id = client.submit_job("record", {"sleep_s": 30, "slow_runs": 1}, retries=0)
    wait_until(lambda: started_runs(record_url, job_id), what="job started")
    worker.signal(signal.SIGTERM)
    assert wait_exit(worker, 20) == 0
    job = client.get_job(job_id)
    assert job.state == 2 and job.attempt == 0  # ENQUEUED again, attempt not counted
    replacement = start_worker(address, record_url, concurrency=1)
    procs.append(replacement)
    job = wait_until(lambda: (j := client.get_job(job_id)) and is_final(j) and j, 20, "rerun")
    assert job.state == 5 and job.attempt == 1  # retries=0 and still it ran: handback is free


def test_broker_sigterm_ends_streams_without_releasing_leases(
    redis_url: str, record_url: str, broker_args: list[str], procs: list[Proc]
) -> None:
    b1, a1 = start_broker(redis_url, None, *broker_args)
    b2, a2 = start_broker(redis_url, None, *broker_args)
    procs += [b1, b2]
    worker = start_worker(f"{a1},{a2}", record_url, concurrency=1)
    procs.append(worker)
    client = Client(a2)
    job_id = client.submit_job("record", {"sleep_s": 1.5})
    wait_until(lambda: started_runs(record_url, job_id), what="job started")
    b1.signal(signal.SIGTERM)
    assert wait_exit(b1, 15) == 0
    b2.signal(signal.SIGTERM)
    assert wait_exit(b2, 15) == 0
    b3, a3 = start_broker(redis_url, int(a1.rsplit(":", 1)[1]), *broker_args)
    procs.append(b3)
    client3 = Client(a3)
    job = wait_until(lambda: (j := client3.get_job(job_id)) and is_final(j) and j, 20, "job final")
    assert job.state == 5 and job.attempt == 1  # the worker acked with the token it held
    assert started_runs(record_url, job_id) == 1
