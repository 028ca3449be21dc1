"""The trace context a broker stores with a job: the request's own when given, else
the call's W3C `traceparent` metadata (here the broker itself does not trace)."""

from __future__ import annotations

import grpc
from gopher.v1 import job_service_pb2, job_service_pb2_grpc

from tests.support import BrokerThread

CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
OWN = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def stored_trace(
    broker: BrokerThread, request: job_service_pb2.SubmitJobRequest, metadata: list[tuple[str, str]]
) -> dict[str, str]:
    with grpc.insecure_channel(broker.address) as channel:
        stub = job_service_pb2_grpc.JobServiceStub(channel)
        job_id = stub.SubmitJob(request, metadata=metadata, timeout=10).job_id
        job = stub.GetJob(job_service_pb2.GetJobRequest(job_id=job_id), timeout=10).job
    return dict(job.trace_context)


def test_the_calls_traceparent_is_stored_when_the_request_names_no_context(
    broker: BrokerThread,
) -> None:
    request = job_service_pb2.SubmitJobRequest(type="email")
    metadata = [("traceparent", CALLER), ("tracestate", "vendor=1")]
    assert stored_trace(broker, request, metadata) == {
        "traceparent": CALLER,
        "tracestate": "vendor=1",
    }


def test_the_requests_own_trace_context_wins(broker: BrokerThread) -> None:
    request = job_service_pb2.SubmitJobRequest(type="email", trace_context={"traceparent": OWN})
    assert stored_trace(broker, request, [("traceparent", CALLER)]) == {"traceparent": OWN}


def test_no_trace_anywhere_stores_none(broker: BrokerThread) -> None:
    request = job_service_pb2.SubmitJobRequest(type="email")
    assert stored_trace(broker, request, [("tracestate", "vendor=1")]) == {}
