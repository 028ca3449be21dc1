"""Worker protocol conformance (docs/worker-protocol.md), written once against the broker
and run for every worker SDK: each check starts a real worker process of the SDK under
test (Python or Node) with the same handlers, and judges it only by what the broker
records and what the handlers noted.
"""

from __future__ import annotations

import json
import signal
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from gopher.v1 import admin_service_pb2 as admin_pb
from gopher.v1 import job_pb2
from gopher.v1 import worker_service_pb2 as worker_pb

from gopher_client import Client, Job, JobState
from tests.interop.sdks import SDKS, events
from tests.processes import Proc, wait_exit
from tests.security.conftest import Pki, token
from tests.support import BrokerThread, wait_until

pytestmark = [pytest.mark.timeout(90), pytest.mark.parametrize("sdk", SDKS)]
Workers = Callable[..., Proc]
S = job_pb2


def _connected(client: Client, worker_id: str, timeout_s: float = 20.0) -> None:
    wait_until(
        lambda: any(w.worker_id == worker_id for w in client.list_workers()),
        timeout_s,
        f"worker {worker_id} to open its stream",
    )


def _final(client: Client, job_id: str, timeout_s: float = 30.0) -> Job:
    return client.wait_for(job_id, timeout_s=timeout_s)


def _state(client: Client, job_id: str, state: int, timeout_s: float = 20.0) -> job_pb2.Job:
    return wait_until(
        lambda: (job := client.get_job(job_id)).state == state and job,
        timeout_s,
        f"job {job_id} to reach {job_pb2.JobState.Name(state)}",
    )


def test_opens_stream_with_identity_and_capacity(
    sdk: str, broker: BrokerThread, workers: Workers
) -> None:
    """The opening message names the worker, its types and concurrency x prefetch."""
    proc = workers(sdk, broker.address, worker_id=f"{sdk}-ident", concurrency=3, prefetch=2)
    with Client(broker.address) as client:
        _connected(client, f"{sdk}-ident")
        (info,) = [w for w in client.list_workers() if w.worker_id == f"{sdk}-ident"]
    assert info.capacity == 6
    assert sorted(info.job_types) == [
        "conf.block",
        "conf.echo",
        "conf.fail",
        "conf.flaky",
        "conf.permanent",
        "conf.retry_after",
        "conf.sleep",
        f"{sdk}.step",
    ]
    assert info.pid == proc.popen.pid
    assert info.hostname == socket.gethostname()


def test_ack_stores_the_result(sdk: str, broker: BrokerThread, workers: Workers) -> None:
    """A handler's return value is acked with the lease token and stored as the result."""
    workers(sdk, broker.address)
    with Client(broker.address) as client:
        job_id = client.submit_job("conf.echo", {"n": 7, "s": "ü"})
        job = _final(client, job_id)
    assert job.state == JobState.SUCCEEDED
    assert json.loads(job.result_json) == {
        "echo": {"n": 7, "s": "ü"},
        "attempt": 1,
        "sdk": sdk,
        "parent": "",
    }


def test_failure_retries_then_dead_letters(
    sdk: str, broker: BrokerThread, workers: Workers, conformance_log: Path
) -> None:
    """A thrown error is a retryable nack with its type and message; after the last
    retry the job is dead."""
    workers(sdk, broker.address)
    with Client(broker.address) as client:
        job_id = client.submit_job("conf.fail", {"message": "smtp down"}, retries=1)
        job = _final(client, job_id)
        full = client.get_job(job_id)
    assert job.state == JobState.DEAD
    assert full.attempt == 2
    assert [e.attempt for e in full.errors] == [1, 2]
    assert all(e.message == "smtp down" and e.error_type for e in full.errors)
    assert all(e.traceback for e in full.errors)
    assert len(events(conformance_log, "start", job_id)) == 2


def test_permanent_error_dead_letters_at_once(
    sdk: str, broker: BrokerThread, workers: Workers
) -> None:
    """PermanentError is a non-retryable nack: dead after one attempt, retries unused."""
    workers(sdk, broker.address)
    with Client(broker.address) as client:
        job_id = client.submit_job("conf.permanent", {}, retries=5)
        _final(client, job_id)
        job = client.get_job(job_id)
    assert job.state == JobState.DEAD
    assert job.attempt == 1
    assert [e.error_type for e in job.errors] == ["PermanentError"]


def test_retry_after_sets_the_delay(sdk: str, broker: BrokerThread, workers: Workers) -> None:
    """RetryAfter(delay) nacks with retry_after_s: the next attempt waits that long."""
    workers(sdk, broker.address)
    with Client(broker.address) as client:
        job_id = client.submit_job("conf.retry_after", {"delay_s": 1.5}, retries=2)
        retrying = _state(client, job_id, S.JOB_STATE_RETRYING)
        job = _final(client, job_id)
    assert job.state == JobState.SUCCEEDED
    assert json.loads(job.result_json)["attempt"] == 2
    failed_at, started_at = retrying.errors[0].time, job.started_at
    assert failed_at is not None and started_at is not None
    assert (started_at - failed_at).total_seconds() >= 1.4


def test_timeout_fails_the_attempt(sdk: str, broker: BrokerThread, workers: Workers) -> None:
    """A job's timeout_s stops the handler and fails the attempt as a TimeoutError."""
    workers(sdk, broker.address)
    with Client(broker.address) as client:
        job_id = client.submit_job("conf.sleep", {"ms": 20_000}, retries=0, timeout_s=0.5)
        _final(client, job_id)
        job = client.get_job(job_id)
    assert job.state == JobState.DEAD
    assert job.errors[0].error_type == "TimeoutError"


def test_extends_leases_of_long_jobs(sdk: str, broker: BrokerThread, workers: Workers) -> None:
    """A job running 3x its lease TTL keeps its first lease: no recovery, one attempt."""
    workers(sdk, broker.address)
    with Client(broker.address) as client:
        job = _final(client, client.submit_job("conf.sleep", {"ms": 3000}, lease_ttl_s=1))
    assert job.state == JobState.SUCCEEDED
    assert job.attempt == 1


def test_bounded_concurrency(
    sdk: str, broker: BrokerThread, workers: Workers, conformance_log: Path
) -> None:
    """Never more handlers at once than the concurrency, and every slot gets used."""
    workers(sdk, broker.address, concurrency=3, prefetch=2)
    with Client(broker.address) as client:
        ids = [client.submit_job("conf.sleep", {"ms": 400}) for _ in range(9)]
        for job_id in ids:
            assert _final(client, job_id).state == JobState.SUCCEEDED
    timeline = sorted(
        [(e["t"], +1) for e in events(conformance_log, "start")]
        + [(e["t"], -1) for e in events(conformance_log, "end")]
    )
    running = peak = 0
    for _, step in timeline:
        running += step
        peak = max(peak, running)
    assert peak == 3


def test_cancellation_reaches_the_running_handler(
    sdk: str, broker: BrokerThread, workers: Workers, conformance_log: Path
) -> None:
    """A cancel sends cancelled_job_ids on the stream: the running handler is told to
    stop, and the worker reports nothing for it."""
    workers(sdk, broker.address)
    with Client(broker.address) as client:
        job_id = client.submit_job("conf.sleep", {"ms": 30_000})
        wait_until(lambda: events(conformance_log, "start", job_id), 20, "the handler to start")
        assert client.cancel_job(job_id).cancelled
        wait_until(lambda: events(conformance_log, "aborted", job_id), 10, "the handler to stop")
        # The worker's slot is free again: a new job runs at once.
        assert _final(client, client.submit_job("conf.echo", {})).state == JobState.SUCCEEDED
        job = client.get_job(job_id)
    assert job.state == JobState.CANCELLED
    assert not job.errors
    assert not events(conformance_log, "end", job_id)


def test_drain_lets_running_jobs_finish(
    sdk: str, broker: BrokerThread, workers: Workers, conformance_log: Path
) -> None:
    """SIGTERM: running handlers finish within the grace period, are acked, and the
    process exits 0."""
    proc = workers(sdk, broker.address, worker_id=f"{sdk}-drain", grace_s=20)
    with Client(broker.address) as client:
        _connected(client, f"{sdk}-drain")
        job_id = client.submit_job("conf.sleep", {"ms": 1500})
        wait_until(lambda: events(conformance_log, "start", job_id), 20, "the handler to start")
        proc.signal(signal.SIGTERM)
        assert wait_exit(proc, 20) == 0
        job = client.get_job(job_id)
    assert job.state == JobState.SUCCEEDED
    assert job.attempt == 1


def test_operator_quiet_hands_back_prefetched_and_stop_exits_once_drained(
    sdk: str, broker: BrokerThread, workers: Workers, conformance_log: Path
) -> None:
    """ControlWorker QUIET: the prefetched job goes back unrun (no attempt counted)
    while the running one goes on; STOP: the running job finishes, is acked, and the
    process exits 0 without starting anything else."""
    worker_id = f"{sdk}-steered"
    proc = workers(sdk, broker.address, worker_id=worker_id, concurrency=1, prefetch=2, grace_s=20)
    with Client(broker.address) as client:
        _connected(client, worker_id)
        running = client.submit_job("conf.sleep", {"ms": 3000})
        wait_until(lambda: events(conformance_log, "start", running), 20, "the handler to start")
        prefetched = client.submit_job("conf.sleep", {"ms": 100})
        _state(client, prefetched, S.JOB_STATE_ACTIVE)
        quiet = admin_pb.ControlWorkerRequest(
            worker_id=worker_id, action=worker_pb.WORKER_CONTROL_ACTION_QUIET
        )
        client.call(client.admin.ControlWorker, quiet)
        handed = _state(client, prefetched, S.JOB_STATE_ENQUEUED)
        assert handed.attempt == 0
        stop = admin_pb.ControlWorkerRequest(
            worker_id=worker_id, action=worker_pb.WORKER_CONTROL_ACTION_STOP
        )
        client.call(client.admin.ControlWorker, stop)
        assert wait_exit(proc, 30) == 0
        done = client.get_job(running)
        left = client.get_job(prefetched)
    assert done.state == JobState.SUCCEEDED and done.attempt == 1
    assert left.state == JobState.ENQUEUED and left.attempt == 0
    assert events(conformance_log, "start", prefetched) == []


def test_drain_hands_back_what_did_not_finish(
    sdk: str, broker: BrokerThread, workers: Workers, conformance_log: Path
) -> None:
    """SIGTERM with a short grace: the running job and the prefetched ones are handed
    back unrun (no attempt counted) and run later on another worker."""
    proc = workers(
        sdk, broker.address, worker_id=f"{sdk}-handback", concurrency=1, prefetch=3, grace_s=0.5
    )
    with Client(broker.address) as client:
        _connected(client, f"{sdk}-handback")
        ids = [client.submit_job("conf.sleep", {"ms": 60_000 if i == 0 else 100}) for i in range(3)]
        wait_until(lambda: events(conformance_log, "start"), 20, "the first handler to start")
        proc.signal(signal.SIGTERM)
        assert wait_exit(proc, 20) == 0
        for job_id in ids:
            job = client.get_job(job_id)
            assert job.state == JobState.ENQUEUED, job
        first = client.get_job(ids[0])
        assert first.attempt == 0 and not first.errors  # the hand-back cost no attempt
        workers("python", broker.address)
        for job_id in ids[1:]:
            assert _final(client, job_id).state == JobState.SUCCEEDED


def test_sigkill_mid_job_loses_nothing(
    sdk: str, broker: BrokerThread, workers: Workers, conformance_log: Path
) -> None:
    """A worker killed mid-job: its stream closes, the broker releases the job, and it
    runs again elsewhere (a worker of the other SDK) and succeeds."""
    proc = workers(sdk, broker.address, worker_id=f"{sdk}-victim")
    with Client(broker.address) as client:
        job_id = client.submit_job("conf.sleep", {"ms": 60_000, "slow_attempts": [1]}, retries=3)
        wait_until(lambda: events(conformance_log, "start", job_id), 20, "the handler to start")
        proc.kill()
        other = "node" if sdk == "python" else "python"
        workers(other, broker.address, worker_id=f"{other}-survivor")
        job = _final(client, job_id)
    assert job.state == JobState.SUCCEEDED
    assert job.attempt == 2
    assert job.worker_id == f"{other}-survivor"
    assert json.loads(job.result_json)["sdk"] == other


def test_stale_ack_is_refused(
    sdk: str, broker: BrokerThread, workers: Workers, conformance_log: Path
) -> None:
    """A worker that stalls past its lease (its process blocked: no extension) loses
    the job to another worker; its late ack with the old token is refused, and the
    job's result is the other worker's."""
    proc = workers(sdk, broker.address, worker_id=f"{sdk}-stall")
    with Client(broker.address) as client:
        job_id = client.submit_job(
            "conf.block", {"ms": 4000, "block_attempts": [1]}, lease_ttl_s=1, retries=3
        )
        wait_until(lambda: events(conformance_log, "start", job_id), 20, "the stall to begin")
        # The broker holds back a worker it presumed hung: a second one takes over.
        other = workers("python", broker.address, worker_id="python-takeover")
        job = _final(client, job_id)
        wait_until(lambda: "refused" in proc.output(), 20, "the stale ack to be refused")
    assert job.state == JobState.SUCCEEDED
    assert job.worker_id == "python-takeover"
    assert json.loads(job.result_json)["pid"] == other.popen.pid
    (stalled,) = [e for e in events(conformance_log, "end", job_id) if e["attempt"] == 1]
    assert stalled["pid"] == proc.popen.pid  # attempt 1 did finish and ack, too late


def test_keeps_leases_across_a_broker_shutdown(
    sdk: str, broker_factory: Callable[..., BrokerThread], workers: Workers
) -> None:
    """Given two brokers, a worker whose broker shuts down reconnects to the other and
    acks the job it was running with the token it holds."""
    first, second = broker_factory(), broker_factory()
    workers(sdk, f"{first.address},{second.address}", worker_id=f"{sdk}-roam")
    with Client(second.address) as client:
        _connected(client, f"{sdk}-roam")
        job_id = client.submit_job("conf.sleep", {"ms": 2500})
        _state(client, job_id, S.JOB_STATE_ACTIVE)
        first.stop()
        job = _final(client, job_id)
        assert job.state == JobState.SUCCEEDED
        assert job.attempt == 1
        # And the stream lives on the second broker now: new work still flows.
        assert _final(client, client.submit_job("conf.echo", {})).state == JobState.SUCCEEDED


def test_tls_and_bearer_token(
    sdk: str,
    broker_factory: Callable[..., BrokerThread],
    workers: Workers,
    tokens_file: Path,
    pki: Pki,
) -> None:
    """Over TLS with a bearer token of the work role the worker runs jobs."""
    broker = broker_factory(
        auth_tokens_file=str(tokens_file),
        tls_cert_file=str(pki.server.cert_file),
        tls_key_file=str(pki.server.key_file),
    )
    ca = pki.ca.cert_file
    workers(sdk, broker.address, token=token("worker"), tls_ca=ca)
    with Client(broker.address, token=token("submitter"), root_cert=ca.read_bytes()) as client:
        job = _final(client, client.submit_job("conf.echo", {"secure": True}))
    assert job.state == JobState.SUCCEEDED
