"""REST JSON to contract messages and back, with the naming rules and bad-input errors."""

from __future__ import annotations

from typing import Any

import pytest
from gopher.v1 import admin_service_pb2 as admin_pb
from gopher.v1 import job_pb2
from gopher.v1 import job_service_pb2 as jobs_pb

from gopher_server.rest._app import build_request, render_response
from gopher_server.rest._decode import decode, parse_json_body
from gopher_server.rest._encode import encode
from gopher_server.rest._errors import RestError
from gopher_server.rest._routes import Binding, discover_bindings

DOCUMENTED = {
    "type": "email",
    "payload": {"to": "user@example.com", "subject": "Welcome!", "body": "Thank you."},
    "priority": "high",
    "retries": 3,
}


def binding(name: str) -> Binding:
    return next(b for b in discover_bindings() if b.method.name == name)


def refused(data: Any, message: Any) -> RestError:
    with pytest.raises(RestError) as caught:
        decode(data, message)
    assert caught.value.status == 400
    return caught.value


def test_the_documented_submit_decodes() -> None:
    request = jobs_pb.SubmitJobRequest()
    decode(DOCUMENTED, request)
    assert request.type == "email"
    assert request.priority == job_pb2.PRIORITY_HIGH
    assert request.HasField("retries") and request.retries == 3
    assert parse_json_body(request.payload_json.encode()) == DOCUMENTED["payload"]


def test_nested_timestamps_maps_and_presence() -> None:
    request = jobs_pb.SubmitJobRequest()
    data = {"type": "t", "run_at": "2030-01-02T03:04:05Z", "trace_context": {"traceparent": "x"}}
    decode({**data, "retry_policy": {}, "delay_s": 0, "idempotency_key": "k"}, request)
    assert request.run_at.ToJsonString() == "2030-01-02T03:04:05Z"
    assert dict(request.trace_context) == {"traceparent": "x"}
    assert request.HasField("retry_policy") and request.HasField("delay_s")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"type": 5}, "type"),
        ({"type": None}, "type"),
        ({"payload": [1, 2]}, "payload"),
        ({"payload": "text"}, "payload"),
        ({"priority": "urgent"}, "priority"),
        ({"priority": "unspecified"}, "priority"),
        ({"priority": "PRIORITY_HIGH"}, "priority"),
        ({"retries": 2**40}, "retries"),
        ({"retries": 1.5}, "retries"),
        ({"retries": True}, "retries"),
        ({"retries": "3"}, "retries"),
        ({"delay_s": "soon"}, "delay_s"),
        ({"run_at": "yesterday"}, "run_at"),
        ({"retry_policy": {"factor": "x"}}, "retry_policy.factor"),
        ({"retry_policy": []}, "retry_policy"),
        ({"trace_context": {"a": 1}}, "trace_context[a]"),
        ({"payload_json": "{}"}, "payload_json"),
        ({"idempotencyKey": "k"}, "idempotencyKey"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_fields_are_named(data: dict[str, Any], field: str) -> None:
    assert refused(data, jobs_pb.SubmitJobRequest()).field == field


def test_batch_errors_name_the_item() -> None:
    error = refused(
        {"jobs": [{"type": "a"}, {"type": "b", "payload": 1}]}, jobs_pb.SubmitJobsRequest()
    )
    assert error.field == "jobs[1].payload"


def test_int64_accepts_numbers_and_decimal_text() -> None:
    request = admin_pb.PurgeDeadJobsRequest()
    decode({"older_than_s": 10}, request)
    assert request.older_than_s == 10.0
    # 64-bit integers are numbers in REST output (rule 5).
    assert encode(admin_pb.PurgeDeadJobsResponse(purged=7)) == {"purged": 7}


@pytest.mark.parametrize(
    "body",
    [b"{bad", b"[1", b'{"a": NaN}', b'{"a": Infinity}', b'{"a": 1e999}', b"\xff", b"[" * 100_000],
)
def test_malformed_json_is_refused(body: bytes) -> None:
    with pytest.raises(RestError) as caught:
        parse_json_body(body)
    assert caught.value.status == 400 and caught.value.field is None


def test_empty_body_is_the_empty_message() -> None:
    assert parse_json_body(b"") == {}
    assert parse_json_body(b"  \n") == {}


def test_job_renders_with_rest_names() -> None:
    job = job_pb2.Job(
        id="j1",
        type="email",
        priority=job_pb2.PRIORITY_HIGH,
        state=job_pb2.JOB_STATE_SUCCEEDED,
        payload_json='{"to": "a@b.c"}',
        result_json="[1, 2]",
        attempt=1,
        retries=3,
    )
    job.created_at.FromJsonString("2030-01-01T00:00:00Z")
    job.events.add(to_state=job_pb2.JOB_STATE_ENQUEUED, attempt=0)
    rendered = encode(job)
    assert rendered["payload"] == {"to": "a@b.c"}
    assert rendered["result"] == [1, 2]
    assert rendered["priority"] == "high" and rendered["state"] == "succeeded"
    assert rendered["created_at"] == "2030-01-01T00:00:00Z"
    assert "finished_at" not in rendered  # unset messages are left out
    assert rendered["events"][0]["to_state"] == "enqueued"
    assert "from_state" not in rendered["events"][0]  # the zero enum value is left out
    assert rendered["errors"] == [] and rendered["worker_id"] == ""
    assert "payload_json" not in rendered and "result_json" not in rendered


def test_empty_or_non_json_text_renders_safely() -> None:
    assert encode(job_pb2.Job(result_json=""))["result"] is None
    assert encode(job_pb2.Job(result_json="not json"))["result"] == "not json"
    assert encode(job_pb2.Job(result_json="NaN"))["result"] == "NaN"


def test_submit_response_status_is_a_word() -> None:
    response = jobs_pb.SubmitJobResponse(job_id="x", status=job_pb2.JOB_STATE_SCHEDULED)
    assert encode(response) == {"job_id": "x", "status": "scheduled"}


def test_build_request_merges_path_query_and_body() -> None:
    pause = build_request(binding("PauseQueue"), {"priority": "low"}, [], None)
    assert pause == admin_pb.PauseQueueRequest(priority=job_pb2.PRIORITY_LOW)
    listed = build_request(
        binding("ListJobs"), {}, [("state", "dead"), ("page_size", "5"), ("type", "e")], None
    )
    assert listed == jobs_pb.ListJobsRequest(state=job_pb2.JOB_STATE_DEAD, page_size=5, type="e")
    limit = build_request(binding("SetRateLimit"), {"type": "email"}, [], {"rate_per_s": 2.5})
    assert limit == admin_pb.SetRateLimitRequest(type="email", rate_per_s=2.5)
    schedule = build_request(binding("CreateSchedule"), {}, [], {"name": "n", "cron": "@every 1s"})
    assert schedule == admin_pb.CreateScheduleRequest(
        schedule=admin_pb.Schedule(name="n", cron="@every 1s")
    )


@pytest.mark.parametrize(
    ("name", "variables", "query", "body", "field"),
    [
        ("PauseQueue", {"priority": "urgent"}, [], None, "priority"),
        ("ListJobs", {}, [("state", "nope")], None, "state"),
        ("ListJobs", {}, [("page_size", "ten")], None, "page_size"),
        ("ListJobs", {}, [("page_size", "1"), ("page_size", "2")], None, "page_size"),
        ("ListJobs", {}, [("bogus", "1")], None, "bogus"),
        ("PurgeDeadJobs", {}, [("older_than_s", "inf")], None, "older_than_s"),
        ("SubmitJob", {}, [("type", "e")], {}, "type"),
        ("SubmitJob", {}, [], [1], None),
        ("SetRateLimit", {"type": "email"}, [], {"type": "other"}, "type"),
        ("CreateSchedule", {}, [], {"name": "n", "job": {"payload": 3}}, "schedule.job.payload"),
    ],
)
def test_build_request_refuses_bad_input(
    name: str, variables: dict[str, str], query: list[tuple[str, str]], body: Any, field: str | None
) -> None:
    with pytest.raises(RestError) as caught:
        build_request(binding(name), variables, query, body)
    assert caught.value.status == 400
    assert caught.value.field == field


def test_response_body_selects_a_field() -> None:
    response = jobs_pb.GetJobResponse(job=job_pb2.Job(id="j"))
    assert render_response(binding("GetJob"), response)["id"] == "j"
    assert render_response(binding("GetSchedule"), admin_pb.GetScheduleResponse()) == {}
