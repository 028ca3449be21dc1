"""`gopherctl workers stop`: a real gopher-worker process finishes its running job,
takes no other, and exits 0, told through a broker that does not hold its stream."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
import redis
from gopher.v1 import admin_service_pb2 as admin_pb
from typer.testing import CliRunner

from gopher_cli.app import app
from gopher_client import Client, JobState
from tests.lifecycle.handlers import gate_key, runs_key
from tests.processes import Proc, start_broker, start_worker, wait_exit
from tests.support import wait_until


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.kill()


def test_stop_lets_the_running_job_finish_then_the_worker_exits_0(
    redis_url: str, record_url: str, broker_args: list[str], procs: list[Proc]
) -> None:
    holder, holder_address = start_broker(redis_url, None, *broker_args)
    other, other_address = start_broker(redis_url, None, *broker_args)
    procs += [holder, other]
    worker = start_worker(holder_address, record_url, "--worker-id", "leaving", concurrency=2)
    procs.append(worker)
    r = redis.Redis.from_url(record_url, decode_responses=True)
    with Client(other_address) as client:
        wait_until(lambda: client.list_workers(), what="the worker's stream open")
        running = client.submit_job("gated", {})
        wait_until(lambda: r.llen(runs_key(running)) == 1, what="the job running")

        stop = CliRunner().invoke(app, ["workers", "stop", "leaving", "-s", other_address])
        assert (stop.exit_code, stop.stdout) == (0, "worker leaving is stopping\n")
        (listed,) = client.list_workers()
        assert listed.state == admin_pb.WORKER_STATE_STOPPING
        # The worker has a free slot, but takes nothing new while it drains.
        waiting = client.submit_job("gated", {})
        assert worker.popen.poll() is None
        r.rpush(gate_key(running), "go")
        assert wait_exit(worker, 30) == 0, worker.output()

        finished = client.get_job(running)
        assert finished.state == JobState.SUCCEEDED and finished.attempt == 1
        left = client.get_job(waiting)
        assert left.state == JobState.ENQUEUED and left.attempt == 0
        assert r.llen(runs_key(waiting)) == 0
        # The stop is over with the process: a new one with the same id runs jobs.
        wait_until(
            lambda: client.list_workers()[0].state == admin_pb.WORKER_STATE_RUNNING,
            what="the stop cleared when the stream closed",
        )
        again = start_worker(holder_address, record_url, "--worker-id", "leaving")
        procs.append(again)
        r.rpush(gate_key(waiting), "go")
        wait_until(lambda: client.get_job(waiting).state == JobState.SUCCEEDED, 30, "job ran")
        again.signal(signal.SIGTERM)
        assert wait_exit(again, 30) == 0
    r.close()
