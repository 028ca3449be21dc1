"""Crash recovery with real processes: SIGKILL and SIGSTOP of workers, SIGKILL of a
broker, and a Redis restart. Every submitted job must reach a final state."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
import redis

from gopher_client import Client, Job, is_final
from gopher_server.embedded_redis import EmbeddedRedis, find_redis_binary
from tests.lifecycle.handlers import runs_key
from tests.processes import Proc, start_broker, start_worker
from tests.support import wait_until


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    """Processes a test started; all are killed at the end."""
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.kill()


def final_job(client: Client, job_id: str) -> Job | None:
    """The job if it reached a final state, else None."""
    job = client.get_job(job_id)
    return job if is_final(job) else None


def runs(url: str, job_id: str) -> list[str]:
    with redis.Redis.from_url(url, decode_responses=True) as r:
        return list(r.lrange(runs_key(job_id), 0, -1))


def test_sigkilled_worker_job_runs_again_elsewhere(
    redis_url: str, record_url: str, broker_args: list[str], procs: list[Proc]
) -> None:
    broker, address = start_broker(redis_url, None, *broker_args)
    procs.append(broker)
    client = Client(address)
    job_id = client.submit_job("record", {"sleep_s": 30, "slow_runs": 1}, retries=3)
    first = start_worker(address, record_url, concurrency=1)
    procs.append(first)
    wait_until(lambda: runs(record_url, job_id), what="first run")
    first.kill()
    second = start_worker(address, record_url, concurrency=1)
    procs.append(second)
    job = wait_until(lambda: final_job(client, job_id), 20, "job final")
    assert job.state == 5  # SUCCEEDED
    assert job.attempt == 2  # the killed run counted as an attempt
    assert [r.split(":")[1] for r in runs(record_url, job_id)] == ["1", "2"]
    assert job.errors[0].error_type == "WorkerLost"


def test_hung_worker_loses_job_after_lease_expiry(
    redis_url: str, record_url: str, broker_args: list[str], procs: list[Proc]
) -> None:
    broker, address = start_broker(redis_url, None, *broker_args)
    procs.append(broker)
    client = Client(address)
    job_id = client.submit_job("record", {"sleep_s": 30, "slow_runs": 1}, lease_ttl_s=1)
    hung = start_worker(address, record_url, concurrency=1)
    procs.append(hung)
    wait_until(lambda: runs(record_url, job_id), what="first run")
    hung.signal(signal.SIGSTOP)  # alive but silent: no extensions, connection stays open
    healthy = start_worker(address, record_url, concurrency=1)
    procs.append(healthy)
    job = wait_until(lambda: final_job(client, job_id), 20, "job final")
    hung.signal(signal.SIGCONT)
    assert job.state == 5 and job.attempt == 2
    assert job.errors[0].error_type == "LeaseExpired"


def test_sigkilled_broker_workers_reconnect_no_job_lost(
    redis_url: str, record_url: str, broker_args: list[str], procs: list[Proc]
) -> None:
    # Jobs b1 had written to the stream but the worker never read are recovered by
    # lease expiry; a short lease keeps that wait short.
    b1, a1 = start_broker(redis_url, None, *broker_args, "--lease-ttl", "2")
    b2, a2 = start_broker(redis_url, None, *broker_args, "--lease-ttl", "2")
    procs += [b1, b2]
    worker = start_worker(f"{a1},{a2}", record_url, concurrency=8)
    procs.append(worker)
    client = Client(a2)
    ids = [client.submit_job("record", {"sleep_s": 0.02}) for _ in range(100)]
    wait_until(lambda: sum(1 for j in ids[:20] if runs(record_url, j)) >= 5, what="work started")
    b1.kill()
    ids += [client.submit_job("record", {}) for _ in range(50)]
    try:
        wait_until(lambda: all(is_final(client.get_job(j)) for j in ids), 30, "all jobs final")
    except AssertionError:
        stuck = [client.get_job(j) for j in ids if not is_final(client.get_job(j))]
        raise AssertionError(
            f"not final: {[(j.id, j.state, j.attempt, j.worker_id) for j in stuck]}\n"
            f"worker output:\n{worker.output()}"
        ) from None
    states = {client.get_job(j).state for j in ids}
    assert states == {5}, states


def test_redis_restart_everything_resumes(procs: list[Proc]) -> None:
    server = EmbeddedRedis(appendonly=True, binary=find_redis_binary(prefer_path=True))
    server.start()
    try:
        broker, address = start_broker(server.url)
        procs.append(broker)
        worker = start_worker(address, server.url, concurrency=4)
        procs.append(worker)
        client = Client(address)
        before = [client.submit_job("record", {}) for _ in range(20)]
        wait_until(lambda: all(is_final(client.get_job(j)) for j in before), 20, "first batch")
        server.stop()
        restarted = EmbeddedRedis(
            port=server.port, data_dir=server.data_dir, appendonly=True, binary=server.binary
        )
        restarted.start()
        server = restarted
        after = wait_until(lambda: _try_submit(client, 20), 20, "broker accepting submits again")
        wait_until(
            lambda: all(is_final(client.get_job(j)) for j in before + after), 30, "all final"
        )
        assert {client.get_job(j).state for j in before + after} == {5}
    finally:
        server.cleanup()


def _try_submit(client: Client, n: int) -> list[str] | None:
    try:
        return [client.submit_job("record", {}) for _ in range(n)]
    except Exception:
        return None
