"""Circuit-breaker reports (docs/worker-protocol.md, section 10), against the broker: a
type that keeps failing is reported OPEN and held back unrun, other types still flow,
and a successful probe after the cool-down closes it again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from gopher.v1 import job_pb2
from gopher.v1 import worker_service_pb2 as wpb

from gopher_client import Client, JobState
from tests.interop.sdks import SDKS, events
from tests.processes import Proc
from tests.support import BrokerThread, wait_until

pytestmark = pytest.mark.timeout(90)
Workers = Callable[..., Proc]
S = job_pb2


def _circuit(client: Client, worker_id: str, job_type: str) -> int | None:
    """The breaker state the broker holds for this worker and type (None: closed)."""
    for w in client.list_workers():
        if w.worker_id == worker_id:
            return w.circuits.get(job_type)
    return None


def _held_back(client: Client, job_id: str) -> bool:
    job = client.get_job(job_id)
    return job.state == JobState.ENQUEUED and job.attempt == 0


@pytest.mark.parametrize("sdk", SDKS)
def test_failing_type_opens_its_circuit(
    sdk: str, broker: BrokerThread, workers: Workers, conformance_log: Path
) -> None:
    """With the breaker's defaults (both SDKs: open at half of at least 20 runs failing
    within 60 s, for 30 s), 20 failures open the type's circuit: the worker reports
    OPEN, the broker sends it no new job of that type (its attempt stays unused), and
    jobs of other types still run."""
    worker_id = f"{sdk}-breaker"
    workers(sdk, broker.address, worker_id=worker_id)
    with Client(broker.address) as client:
        failing = [client.submit_job("conf.fail", {}, retries=0) for _ in range(20)]
        for job_id in failing:
            assert client.wait_for(job_id, timeout_s=30).state == JobState.DEAD
        wait_until(
            lambda: _circuit(client, worker_id, "conf.fail") == wpb.CIRCUIT_STATE_OPEN,
            15,
            "the worker to report the circuit OPEN",
        )
        held = client.submit_job("conf.fail", {}, retries=0)
        other = client.wait_for(client.submit_job("conf.echo", {}), timeout_s=20)
        assert other.state == JobState.SUCCEEDED
        assert _held_back(client, held)
    assert not events(conformance_log, "start", held)


def test_node_probe_closes_the_circuit(
    broker: BrokerThread, workers: Workers, conformance_log: Path, tmp_path: Path
) -> None:
    """The Node worker after its cool-down: one job of the held type runs as the probe;
    once it succeeds the circuit is reported closed and the held jobs run, with no
    attempt spent while the type was held back."""
    down = tmp_path / "downstream-down"
    down.touch()
    worker_id = "node-probe"
    workers("node", broker.address, worker_id=worker_id, concurrency=1, breaker=(2, 3.0))
    payload = {"down_file": str(down)}
    with Client(broker.address) as client:
        failing = [client.submit_job("conf.flaky", payload, retries=10) for _ in range(2)]
        wait_until(
            lambda: _circuit(client, worker_id, "conf.flaky") == wpb.CIRCUIT_STATE_OPEN,
            20,
            "two failures to open the circuit",
        )
        held = [client.submit_job("conf.flaky", payload) for _ in range(3)]
        assert all(_held_back(client, job_id) for job_id in held)
        down.unlink()  # the downstream is back: the next probe succeeds
        for job_id in failing + held:
            assert client.wait_for(job_id, timeout_s=30).state == JobState.SUCCEEDED
        wait_until(
            lambda: _circuit(client, worker_id, "conf.flaky") is None,
            15,
            "the worker to report the circuit closed",
        )
        attempts = {job_id: client.get_job(job_id).attempt for job_id in held}
    assert attempts == dict.fromkeys(held, 1)
    assert all(len(events(conformance_log, "start", job_id)) == 1 for job_id in held)
