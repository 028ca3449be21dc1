"""The stable JSON form and the table helpers."""

from __future__ import annotations

import datetime as dt
import io

from gopher.v1 import admin_service_pb2 as admin_pb
from gopher.v1 import job_pb2, job_service_pb2
from rich.console import Console

from gopher_cli.admin_views import by_type, queues_view, rate_limit_table, worker_table
from gopher_cli.job_views import dead_table, job_detail, job_table, watch_line
from gopher_cli.output import compact_json, enum_word, format_age, to_json

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def text_of(renderable: object) -> str:
    """Render to plain text, as a wide terminal without colours would show it."""
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(renderable)
    return out.getvalue()


def sample_job(**fields: object) -> job_pb2.Job:
    job = job_pb2.Job(
        id="j-1",
        type="email",
        priority=job_pb2.PRIORITY_HIGH,
        state=job_pb2.JOB_STATE_DEAD,
        payload_json='{"to": "a@b.c"}',
        attempt=2,
        retries=1,
        **fields,  # type: ignore[arg-type]
    )
    job.created_at.FromDatetime(NOW - dt.timedelta(minutes=5))
    job.finished_at.FromDatetime(NOW - dt.timedelta(seconds=30))
    job.errors.add(attempt=1, error_type="TimeoutError", message="slow", worker_id="w1")
    job.errors.add(attempt=2, error_type="ValueError", message="bad address", traceback="Trace!")
    job.events.add(to_state=job_pb2.JOB_STATE_ENQUEUED, attempt=0)
    job.events.add(from_state=job_pb2.JOB_STATE_ACTIVE, to_state=job_pb2.JOB_STATE_DEAD, attempt=2)
    return job


def test_enum_word_strips_the_type_prefix() -> None:
    assert enum_word(job_pb2.Priority.DESCRIPTOR, "PRIORITY_HIGH") == "high"
    assert enum_word(job_pb2.JobState.DESCRIPTOR, "JOB_STATE_SUCCEEDED") == "succeeded"


def test_job_json_is_stable_and_friendly() -> None:
    job = sample_job(result_json="")
    data = to_json(job)
    assert data["priority"] == "high"
    assert data["state"] == "dead"
    assert data["payload"] == {"to": "a@b.c"}
    assert data["result"] is None
    assert "payload_json" not in data and "result_json" not in data
    assert "started_at" not in data  # unset timestamps are left out, as in the REST API
    assert data["created_at"] == "2026-01-01T11:55:00Z"
    assert "from_state" not in data["events"][0]  # UNSPECIFIED means not set
    assert data["events"][1]["from_state"] == "active"
    assert data["timeout_s"] == 0.0 and data["idempotency_key"] == ""  # no presence: kept
    assert [e["error_type"] for e in data["errors"]] == ["TimeoutError", "ValueError"]
    assert list(data)[:4] == ["id", "type", "priority", "state"]  # field-number order


def test_int64_fields_are_numbers_and_maps_convert() -> None:
    stats = admin_pb.GetQueueStatsResponse(
        queues=[
            admin_pb.QueueStats(priority=job_pb2.PRIORITY_LOW, depth=7, depth_by_type={"a": 7})
        ],
        dead=3,
    )
    data = to_json(stats)
    assert data["queues"][0] == {
        "priority": "low",
        "depth": 7,
        "depth_by_type": {"a": 7},
        "paused": False,
        "oldest_job_age_s": 0.0,
    }
    assert data["dead"] == 3


def test_result_that_is_not_json_is_kept_as_text() -> None:
    response = job_service_pb2.SubmitJobResponse(job_id="x", status=job_pb2.JOB_STATE_SCHEDULED)
    assert to_json(response) == {"job_id": "x", "status": "scheduled"}
    assert to_json(job_pb2.Job(result_json="not json"))["result"] == "not json"


def test_schedule_template_payload_is_parsed() -> None:
    schedule = admin_pb.Schedule(
        name="n", cron="@every 30s", job=admin_pb.JobTemplate(type="t", payload_json='{"a": 1}')
    )
    data = to_json(schedule)
    assert data["job"]["payload"] == {"a": 1}
    assert "retries" not in data["job"]  # optional and unset
    assert "priority" not in data["job"]


def test_compact_json_and_ages() -> None:
    assert compact_json('{"a": 1}') == '{"a": 1}'
    assert compact_json('{"a": "' + "x" * 100 + '"}', 20).endswith("…")
    stamp = job_pb2.Job().created_at
    assert format_age(stamp, NOW) == "-"
    stamp.FromDatetime(NOW - dt.timedelta(seconds=90))
    assert format_age(stamp, NOW) == "1m 30s ago"


def test_job_detail_shows_errors_traceback_and_history() -> None:
    text = text_of(job_detail(sample_job(), NOW))
    assert "j-1" in text and "dead" in text and "2 of 2" in text
    assert "TimeoutError" in text and "bad address" in text
    assert "Traceback of attempt 2" in text and "Trace!" in text
    assert "submitted → enqueued" in text and "active → dead" in text
    assert '"to": "a@b.c"' in text


def test_list_tables() -> None:
    job = sample_job()
    assert "1m ago" not in text_of(job_table([job], NOW))
    listed = text_of(job_table([job], NOW))
    assert "j-1" in listed and "email" in listed and "2/2" in listed and "5m ago" in listed
    dead = text_of(dead_table([job], NOW))
    assert "ValueError: bad address" in dead and "30s ago" in dead


def test_watch_line() -> None:
    job = job_pb2.Job(
        id="j", state=job_pb2.JOB_STATE_SUCCEEDED, attempt=1, retries=3, result_json='{"ok": true}'
    )
    line = watch_line(job, NOW)
    assert line.startswith("12:00:00Z  succeeded  attempt 1/4")
    assert 'result {"ok": true}' in line


def test_admin_tables() -> None:
    stats = admin_pb.GetQueueStatsResponse(
        queues=[
            admin_pb.QueueStats(
                priority=job_pb2.PRIORITY_HIGH,
                depth=4,
                depth_by_type={"a": 1, "b": 3},
                paused=True,
                oldest_job_age_s=65,
            )
        ],
        scheduled=2,
        dead=1,
    )
    text = text_of(queues_view(stats))
    assert "high" in text and "paused" in text and "1m 5s" in text and "b=3, a=1" in text
    assert "scheduled 2" in text and "dead 1" in text
    assert by_type({}) == "-"
    worker = admin_pb.WorkerInfo(
        worker_id="w1", hostname="h", job_types=["a", "b"], capacity=4, in_flight=3
    )
    worker.last_heartbeat.FromDatetime(NOW - dt.timedelta(seconds=2))
    text = text_of(worker_table([worker], NOW))
    assert "w1" in text and "a, b" in text and "75%" in text and "2s ago" in text
    limit = admin_pb.RateLimit(type="email", rate_per_s=2.5, max_concurrency=0)
    text = text_of(rate_limit_table([limit]))
    assert "2.5/s" in text and "unlimited" in text
