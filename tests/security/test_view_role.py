"""The `view` role reads everything and changes nothing; GetCaller answers every role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import httpx
import pytest
from gopher.v1 import admin_service_pb2 as admin_pb
from gopher.v1 import admin_service_pb2_grpc, job_pb2, job_service_pb2_grpc
from gopher.v1 import job_service_pb2 as jobs_pb
from gopher.v1 import worker_service_pb2 as worker_pb

from gopher_server.rest._routes import discover_bindings
from gopher_server.rest.guard import SAFE_METHODS
from tests.security.conftest import TOKENS, token
from tests.support import BrokerThread

JSON = {"content-type": "application/json"}


def _code(call: Callable[[], Any]) -> grpc.StatusCode:
    try:
        call()
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def test_view_reads_but_every_change_is_denied(secured_broker: BrokerThread) -> None:
    viewer = [("authorization", f"Bearer {token('viewer')}")]
    with grpc.insecure_channel(secured_broker.address) as channel:
        jobs = job_service_pb2_grpc.JobServiceStub(channel)
        admin = admin_service_pb2_grpc.AdminServiceStub(channel)
        reads = {
            "ListJobs": lambda: jobs.ListJobs(jobs_pb.ListJobsRequest(), metadata=viewer),
            "GetQueueStats": lambda: admin.GetQueueStats(
                admin_pb.GetQueueStatsRequest(), metadata=viewer
            ),
            "GetThroughput": lambda: admin.GetThroughput(
                admin_pb.GetThroughputRequest(), metadata=viewer
            ),
            "ListDeadJobs": lambda: admin.ListDeadJobs(
                admin_pb.ListDeadJobsRequest(), metadata=viewer
            ),
            "GetClusterStatus": lambda: admin.GetClusterStatus(
                admin_pb.GetClusterStatusRequest(), metadata=viewer
            ),
        }
        assert {n: _code(c) for n, c in reads.items()} == dict.fromkeys(reads, grpc.StatusCode.OK)
        changes = {
            "SubmitJob": lambda: jobs.SubmitJob(
                jobs_pb.SubmitJobRequest(type="t"), metadata=viewer
            ),
            "CancelJob": lambda: jobs.CancelJob(
                jobs_pb.CancelJobRequest(job_id="x"), metadata=viewer
            ),
            "PauseQueue": lambda: admin.PauseQueue(
                admin_pb.PauseQueueRequest(priority=job_pb2.PRIORITY_HIGH), metadata=viewer
            ),
            "CancelJobs": lambda: admin.CancelJobs(
                admin_pb.CancelJobsRequest(all=True), metadata=viewer
            ),
            "RunJobNow": lambda: admin.RunJobNow(
                admin_pb.RunJobNowRequest(job_id="x"), metadata=viewer
            ),
            "PurgeDeadJobs": lambda: admin.PurgeDeadJobs(
                admin_pb.PurgeDeadJobsRequest(), metadata=viewer
            ),
            "ControlWorker": lambda: admin.ControlWorker(
                admin_pb.ControlWorkerRequest(
                    worker_id="w1", action=worker_pb.WORKER_CONTROL_ACTION_STOP
                ),
                metadata=viewer,
            ),
        }
        assert {n: _code(c) for n, c in changes.items()} == dict.fromkeys(
            changes, grpc.StatusCode.PERMISSION_DENIED
        )


@pytest.mark.parametrize("name", sorted(TOKENS))
def test_get_caller_answers_every_role(secured_broker: BrokerThread, name: str) -> None:
    with grpc.insecure_channel(secured_broker.address) as channel:
        admin = admin_service_pb2_grpc.AdminServiceStub(channel)
        caller = admin.GetCaller(
            admin_pb.GetCallerRequest(), metadata=[("authorization", f"Bearer {token(name)}")]
        )
    assert (caller.name, caller.auth_enabled) == (name, True)
    assert sorted(caller.roles) == sorted(TOKENS[name][0].split(","))
    assert caller.can_admin == ("admin" in TOKENS[name][0])


def test_view_over_rest_every_state_changing_route_is_403(secured_broker: BrokerThread) -> None:
    headers = {**JSON, "authorization": f"Bearer {token('viewer')}"}
    with httpx.Client(base_url=secured_broker.http_url, headers=headers) as http:
        assert http.get("/api/queues").status_code == 200
        for binding in discover_bindings():
            if binding.http_method in SAFE_METHODS:
                continue
            path = binding.template.template.replace("{priority}", "high")
            path = path.replace("{job_id}", "x").replace("{name}", "x").replace("{type}", "x")
            body = b"{}" if binding.body else b""
            response = http.request(binding.http_method, path, content=body)
            assert response.status_code == 403, (path, response.text)
            assert response.json()["error"]["code"] == "permission_denied"
