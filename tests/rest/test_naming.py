"""The REST naming rules, checked on the real contract descriptors."""

from __future__ import annotations

from gopher.v1 import job_pb2, job_service_pb2, worker_service_pb2

from gopher_server.rest._naming import (
    enum_prefix,
    enum_word,
    enum_words,
    rest_field_path,
    rest_fields,
    words_of,
)


def test_enum_words_strip_the_enum_prefix_and_exclude_the_zero_value() -> None:
    priority = job_pb2.Priority.DESCRIPTOR
    assert enum_prefix(priority) == "PRIORITY_"
    assert enum_words(priority) == {"high": 1, "normal": 2, "low": 3}
    state = job_pb2.JobState.DESCRIPTOR
    assert enum_prefix(state) == "JOB_STATE_"
    assert enum_word(state, job_pb2.JOB_STATE_ENQUEUED) == "enqueued"
    assert enum_word(state, job_pb2.JOB_STATE_UNSPECIFIED) is None
    outcome = worker_service_pb2.OutcomeCode.DESCRIPTOR
    assert enum_word(outcome, worker_service_pb2.OUTCOME_CODE_OK) == "ok"
    assert enum_word(outcome, worker_service_pb2.OUTCOME_CODE_STALE_LEASE) == "stale_lease"


def test_json_fields_lose_their_suffix() -> None:
    names = list(rest_fields(job_pb2.Job.DESCRIPTOR))
    assert "payload" in names and "result" in names
    assert "payload_json" not in names and "result_json" not in names
    assert "payload" in rest_fields(job_service_pb2.SubmitJobRequest.DESCRIPTOR)


def test_broker_field_paths_are_renamed() -> None:
    assert rest_field_path("payload_json") == "payload"
    assert rest_field_path("jobs[2].payload_json") == "jobs[2].payload"
    assert rest_field_path("schedule.job.payload_json") == "schedule.job.payload"
    assert rest_field_path("type") == "type"
    assert rest_field_path("") == ""


def test_rpc_names_read_as_sentences() -> None:
    assert words_of("SubmitJob") == "Submit job"
    assert words_of("GetQueueStats") == "Get queue stats"
