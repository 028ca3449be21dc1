"""Token auth over gRPC: who may call what, what refusals look like, what is counted
and logged. Every call goes to a real broker over TCP."""

from __future__ import annotations

import logging

import grpc
import pytest
from gopher.v1 import admin_service_pb2 as admin_pb
from gopher.v1 import admin_service_pb2_grpc, job_service_pb2_grpc, worker_service_pb2_grpc
from gopher.v1 import job_service_pb2 as jobs_pb
from gopher.v1 import worker_service_pb2 as workers_pb
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from gopher_client import Client, PermissionDenied, Unauthenticated
from tests.security.conftest import TOKENS, token
from tests.support import BrokerThread

OK = grpc.StatusCode.OK
NOT_FOUND = grpc.StatusCode.NOT_FOUND
DENIED = grpc.StatusCode.PERMISSION_DENIED
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED


def _code(call: object) -> grpc.StatusCode:
    try:
        call()  # type: ignore[operator]
    except grpc.RpcError as error:
        return error.code()
    return OK


def _calls(channel: grpc.Channel, metadata: list[tuple[str, str]]) -> dict[str, object]:
    """One call per service: each is allowed by exactly the roles that may use it."""
    jobs = job_service_pb2_grpc.JobServiceStub(channel)
    workers = worker_service_pb2_grpc.WorkerServiceStub(channel)
    admin = admin_service_pb2_grpc.AdminServiceStub(channel)
    ack = workers_pb.AckJobRequest(job_id="no-such-job", lease_token=1)
    return {
        "job": lambda: jobs.GetJob(jobs_pb.GetJobRequest(job_id="nope"), metadata=metadata),
        "work": lambda: workers.AckJob(ack, metadata=metadata),
        "admin": lambda: admin.ListWorkers(admin_pb.ListWorkersRequest(), metadata=metadata),
    }


# Role -> expected status per call. Allowed calls reach the servicer (NOT_FOUND or OK).
EXPECTED = {
    "submitter": {"job": NOT_FOUND, "work": DENIED, "admin": DENIED},
    "worker": {"job": DENIED, "work": NOT_FOUND, "admin": DENIED},
    "operator": {"job": NOT_FOUND, "work": NOT_FOUND, "admin": OK},
    "pipeline": {"job": NOT_FOUND, "work": NOT_FOUND, "admin": DENIED},
    "viewer": {"job": NOT_FOUND, "work": DENIED, "admin": OK},
}


@pytest.mark.parametrize("name", sorted(TOKENS))
def test_each_role_reaches_exactly_its_services(secured_broker: BrokerThread, name: str) -> None:
    with grpc.insecure_channel(secured_broker.address) as channel:
        calls = _calls(channel, [("authorization", f"Bearer {token(name)}")])
        assert {what: _code(call) for what, call in calls.items()} == EXPECTED[name]


@pytest.mark.parametrize(
    "metadata",
    [
        [],
        [("authorization", "Bearer not-a-configured-token")],
        [("authorization", "Basic dXNlcjpwYXNz")],
        [("authorization", "Bearer ")],
        [("authorization", token("operator"))],  # the token without its scheme
        [("authorization", f"Bearer {token('operator')}x")],
    ],
    ids=["missing", "unknown", "basic", "empty", "no-scheme", "near-miss"],
)
def test_missing_or_wrong_tokens_are_unauthenticated_everywhere(
    secured_broker: BrokerThread, metadata: list[tuple[str, str]]
) -> None:
    with grpc.insecure_channel(secured_broker.address) as channel:
        calls = _calls(channel, metadata)
        assert {what: _code(call) for what, call in calls.items()} == dict.fromkeys(
            calls, UNAUTHENTICATED
        )


def test_streams_are_guarded_before_they_start(secured_broker: BrokerThread) -> None:
    with grpc.insecure_channel(secured_broker.address) as channel:
        jobs = job_service_pb2_grpc.JobServiceStub(channel)
        workers = worker_service_pb2_grpc.WorkerServiceStub(channel)
        open_stream = workers_pb.StreamJobsRequest(worker_id="w", job_types=["t"], capacity=1)
        watch = jobs_pb.WatchJobRequest(job_id="nope")
        assert _code(lambda: list(workers.StreamJobs(open_stream))) == UNAUTHENTICATED
        submitter = [("authorization", f"Bearer {token('submitter')}")]
        assert _code(lambda: list(workers.StreamJobs(open_stream, metadata=submitter))) == DENIED
        assert _code(lambda: list(jobs.WatchJob(watch, metadata=submitter))) == NOT_FOUND


def test_health_and_reflection_need_no_token(secured_broker: BrokerThread) -> None:
    with grpc.insecure_channel(secured_broker.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        answer = health.Check(health_pb2.HealthCheckRequest(service=""))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
        reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        (reply,) = list(reflect.ServerReflectionInfo(iter([request])))
        names = {s.name for s in reply.list_services_response.service}
        assert {"gopher.v1.JobService", "grpc.health.v1.Health"} <= names


def test_sdk_errors_name_the_failure(secured_broker: BrokerThread) -> None:
    with (
        Client(secured_broker.address, token="wrong") as client,
        pytest.raises(Unauthenticated, match="not valid"),
    ):
        client.queue_stats()
    with Client(secured_broker.address, token=token("submitter")) as client:
        with pytest.raises(PermissionDenied, match="submitter"):
            client.queue_stats()
        job_id = client.submit_job("email", {"to": "a@b.c"})
        assert client.get_job(job_id).type == "email"


def test_refusals_are_counted_by_reason_and_logged_without_the_token(
    secured_broker: BrokerThread, caplog: pytest.LogCaptureFixture
) -> None:
    assert secured_broker.broker is not None
    registry = secured_broker.broker.metrics.registry
    secret = "Bearer super-secret-wrong-token"
    caplog.set_level(logging.WARNING, logger="gopher_server.auth")
    with grpc.insecure_channel(secured_broker.address) as channel:
        for metadata in ([], [("authorization", secret)], [("authorization", "Basic x")]):
            _code(_calls(channel, metadata)["admin"])
        _code(_calls(channel, [("authorization", f"Bearer {token('worker')}")])["admin"])

    def count(reason: str) -> float | None:
        return registry.get_sample_value("gopher_auth_failures_total", {"reason": reason})

    assert [count(r) for r in ("missing", "invalid", "malformed", "forbidden")] == [1, 1, 1, 1]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "auth refused (invalid): /gopher.v1.AdminService/ListWorkers" in logged
    assert "auth refused (forbidden)" in logged and "'worker'" in logged
    assert "super-secret" not in logged and token("worker") not in logged


def test_without_tokens_auth_is_off(broker: BrokerThread) -> None:
    with Client(broker.address) as client:
        assert client.queue_stats() is not None
