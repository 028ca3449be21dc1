"""One trace from submit to handler, whoever submits: a broker and a worker process
export their spans (OTEL_TRACES_EXPORTER=console), and the broker's SubmitJob span, the
job's handler span and its follow-up's handler span share one trace id for a REST
submit (with and without a `traceparent` header) and a Node client's chain."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from gopher_server.embedded_redis import free_port
from tests.interop.sdks import build_node_sdk, node_or_skip, node_program
from tests.processes import Proc, _spawn
from tests.support import wait_until

# Spans are exported in batches this often (ms), so the test sees them soon.
TRACING_ENV = {"OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "50"}
SUBMIT_SPAN = "/gopher.v1.JobService/SubmitJob"
# A caller's own trace, as a REST client would send it (W3C traceparent).
CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_TRACEPARENT = f"00-{CALLER_TRACE_ID}-00f067aa0ba902b7-01"


@dataclass
class Stack:
    """A traced broker process (gRPC and REST) and a traced worker process."""

    broker: Proc
    worker: Proc
    address: str
    http_url: str

    def spans(self) -> list[dict[str, Any]]:
        """Every span both processes exported so far."""
        return spans_in(self.broker.output()) + spans_in(self.worker.output())


def spans_in(output: str) -> list[dict[str, Any]]:
    """The spans the console exporter printed (indented JSON objects, each starting
    with a "{" line and ending with a "}" line) among the process' other output."""
    found, block = [], None
    for line in output.splitlines():
        if line == "{":
            block = [line]
        elif block is not None:
            block.append(line)
            if line == "}":
                found.append(json.loads("\n".join(block)))
                block = None
    return found


def trace_id(span: dict[str, Any]) -> str:
    return str(span["context"]["trace_id"]).removeprefix("0x")


@pytest.fixture
def stack(redis_url: str) -> Iterator[Stack]:
    port, http_port = free_port(), free_port()
    broker = _spawn(
        "traced-broker",
        [
            sys.executable,
            "-m",
            "gopher_server.main",
            "--redis-url",
            redis_url,
            "--port",
            str(port),
            "--http-port",
            str(http_port),
            "--log-level",
            "WARNING",
        ],
        "gopher-server ready",
        TRACING_ENV,
    )
    worker = None
    try:
        broker.wait_ready(30)
        address = f"127.0.0.1:{port}"
        worker = _spawn(
            "traced-worker",
            [
                sys.executable,
                "-m",
                "gopher_worker.main",
                "tests.observability.trace_handlers:registry",
                "--server",
                address,
                "--log-level",
                "WARNING",
            ],
            "gopher-worker",
            TRACING_ENV,
        )
        worker.wait_ready(30)
        yield Stack(broker, worker, address, f"http://127.0.0.1:{http_port}")
    finally:
        if worker is not None:
            worker.stop()
        broker.stop()


def handler_spans(stack: Stack) -> dict[str, dict[str, Any]]:
    """The head's and the follow-up's handler spans, once both were exported."""

    def both() -> dict[str, dict[str, Any]] | None:
        # The broker's server span of the submit (a REST submit also has a client span
        # of that name, its parent).
        spans = {
            s["name"]: s
            for s in stack.spans()
            if s["name"] != SUBMIT_SPAN or s["kind"] == "SpanKind.SERVER"
        }
        wanted = ("gopher.job trace.head", "gopher.job trace.next", SUBMIT_SPAN)
        return spans if all(name in spans for name in wanted) else None

    found: dict[str, dict[str, Any]] = wait_until(both, 30, "the submit and handler spans")
    return found


def assert_one_trace(spans: dict[str, dict[str, Any]], expected: str | None = None) -> None:
    submit = spans[SUBMIT_SPAN]
    head, follow_up = spans["gopher.job trace.head"], spans["gopher.job trace.next"]
    ids = {trace_id(submit), trace_id(head), trace_id(follow_up)}
    assert len(ids) == 1, {"submit": submit, "head": head, "follow_up": follow_up}
    if expected is not None:
        assert ids == {expected}
    # The job's run is a child of the broker's SubmitJob span (not merely a sibling).
    assert head["parent_id"] == submit["context"]["span_id"]


CHAIN_BODY = {"type": "trace.head", "payload": {}, "on_success": [{"type": "trace.next"}]}


def test_a_rest_submit_without_trace_context_joins_the_submit_span(stack: Stack) -> None:
    response = httpx.post(f"{stack.http_url}/api/jobs", json=CHAIN_BODY, timeout=10)
    assert response.status_code == 201, response.text
    assert_one_trace(handler_spans(stack))


def test_a_rest_submit_with_traceparent_continues_the_callers_trace(stack: Stack) -> None:
    response = httpx.post(
        f"{stack.http_url}/api/jobs",
        json=CHAIN_BODY,
        headers={"traceparent": CALLER_TRACEPARENT},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    assert_one_trace(handler_spans(stack), CALLER_TRACE_ID)


def test_a_node_client_submit_and_its_chain_share_one_trace(stack: Stack) -> None:
    node = node_or_skip()
    build_node_sdk()
    done = subprocess.run(
        [
            node,
            node_program("test/client-scenario"),
            "--server",
            stack.address,
            "--scenario",
            "submit",
            "--type",
            "trace.head",
            "--then",
            "trace.next",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["id"]
    assert_one_trace(handler_spans(stack))
