"""Clients and workers of different languages on one broker: a Python client with a Node
worker, a Node client with a Python worker, and chains whose links alternate languages."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from gopher.v1 import job_pb2

from gopher_client import Client, JobState, Priority, submit_request
from tests.interop.sdks import node_program
from tests.processes import Proc
from tests.support import BrokerThread

pytestmark = pytest.mark.timeout(120)
Workers = Callable[..., Proc]
S = job_pb2


def node_client(node: str, server: str, scenario: str) -> dict[str, Any]:
    """Run a scenario of sdk/typescript/test/client-scenario.ts; its JSON output."""
    done = subprocess.run(
        [node, node_program("test/client-scenario"), "--server", server, "--scenario", scenario],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def test_python_client_node_worker(broker: BrokerThread, workers: Workers) -> None:
    """A job submitted from Python runs in Node; Python reads the typed result back."""
    workers("node", broker.address, worker_id="node-echo")
    with Client(broker.address) as client:
        job_id = client.submit_job("conf.echo", {"to": "a@b.c", "n": [1, 2.5, None]})
        job = client.wait_for(job_id, timeout_s=30)
    assert job.state == JobState.SUCCEEDED
    assert job.worker_id == "node-echo"
    assert json.loads(job.result_json)["echo"] == {"to": "a@b.c", "n": [1, 2.5, None]}


def test_node_client_python_worker(node_sdk: str, broker: BrokerThread, workers: Workers) -> None:
    """The Node Client's whole API against a Python worker, checked from Python too."""
    workers("python", broker.address, worker_id="python-api")
    out = node_client(node_sdk, broker.address, "api")
    with Client(broker.address) as client:
        high = client.get_job(out["high"]["id"])
        assert high.priority == Priority.HIGH and high.retries == 2
        assert high.timeout_s == 30 and high.lease_ttl_s == 20
        assert high.worker_id == "python-api"
        assert out["result"] == {"echo": {"n": 1}, "attempt": 1, "sdk": "python", "parent": ""}
        assert out["resultN"] == 1
        first, again = out["idempotent"]["first"], out["idempotent"]["again"]
        assert again["id"] == first["id"] and again["duplicate"] and not first["duplicate"]
        assert json.loads(client.get_job(first["id"]).payload_json) == {"n": 2}
        assert out["delayed"]["state"] == "scheduled"
        assert out["delayedJob"]["priority"] == "low"
        assert out["cancel"] == {"state": "cancelled", "cancelled": True}
        assert out["cancelAgain"] == {"state": "cancelled", "cancelled": False}
        assert client.get_job(out["delayed"]["id"]).state == JobState.CANCELLED
        assert [r["echo"]["n"] for r in out["batchResults"]] == [10, 11, 12]
        batch = [client.get_job(b["id"]) for b in out["batch"]]
        assert [j.priority for j in batch] == [
            Priority.NORMAL,
            Priority.HIGH,
            Priority.NORMAL,
        ]
        assert batch[2].retries == 0
    assert out["watchStates"][-1] == "succeeded"
    assert "active" in out["watchStates"] or "enqueued" in out["watchStates"]
    assert out["deadError"] == {
        "name": "JobFailedError",
        "state": "dead",
        "errors": [["PermanentError", "no such user"]],
    }
    assert out["listed"]["firstPage"] == 2 and out["listed"]["more"]
    # high, the keyed one (its repeat made no new job), and the batch of three
    assert out["listed"]["total"] == 5
    assert out["missing"] == {"name": "NotFoundError", "code": "NOT_FOUND"}
    assert out["invalid"]["code"] == "INVALID_ARGUMENT" and "type" in out["invalid"]["details"]


def test_chain_submitted_from_python_alternates_languages(
    broker: BrokerThread, workers: Workers
) -> None:
    """node.step -> python.step -> node.step: each link runs in its language and gets its
    parent's result."""
    workers("node", broker.address)
    workers("python", broker.address)
    last = submit_request("node.step", {"n": 3})
    middle = submit_request("python.step", {"n": 2}, on_success=[last])
    with Client(broker.address) as client:
        job_id = client.submit_job("node.step", {"n": 1}, on_success=[middle])
        results = []
        for _ in range(3):
            client.wait_for(job_id, timeout_s=30)
            job = client.get_job(job_id)
            assert job.state == JobState.SUCCEEDED
            results.append(json.loads(job.result_json))
            job_id = job.follow_up_ids[0] if job.follow_up_ids else ""
    assert [(r["sdk"], r["n"]) for r in results] == [("node", 1), ("python", 2), ("node", 3)]
    assert results[1]["parent_result"] == results[0]
    assert results[2]["parent_result"] == results[1]


def test_chain_submitted_from_node_alternates_languages(
    node_sdk: str, broker: BrokerThread, workers: Workers
) -> None:
    """The Node Client's onSuccess: python.step -> node.step -> python.step."""
    workers("node", broker.address)
    workers("python", broker.address)
    out = node_client(node_sdk, broker.address, "chain")
    assert [(r["sdk"], r["n"]) for r in out["results"]] == [
        ("python", 1),
        ("node", 2),
        ("python", 3),
    ]
    assert out["results"][1]["parent_result"] == out["results"][0]
    assert out["parents"] == ["", out["ids"][0], out["ids"][1]]
