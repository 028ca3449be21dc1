"""Every rule of `submit_to_job`: what it rejects (naming the field) and what it keeps."""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest
from gopher.v1 import job_pb2, job_service_pb2

from gopher_server.config import ServerConfig
from gopher_server.errors import InvalidArgument, TooLarge
from gopher_server.validation import (
    MAX_DELAY_S,
    MAX_LEASE_S,
    MAX_TIMEOUT_S,
    MAX_TRACE_BYTES,
    submit_to_job,
)

NOW_MS = 1_800_000_000_000
CONFIG = ServerConfig(max_payload_bytes=1024)
YEAR_MS = MAX_DELAY_S * 1000


def request(**fields: Any) -> job_service_pb2.SubmitJobRequest:
    """A SubmitJobRequest of type "email" with `fields` set."""
    fields.setdefault("type", "email")
    return job_service_pb2.SubmitJobRequest(**fields)


def run_at(ms: int) -> dict[str, int]:
    return {"seconds": ms // 1000, "nanos": (ms % 1000) * 1_000_000}


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("empty type", {"type": ""}, "type"),
    ("type with a space", {"type": "send email"}, "type"),
    ("type with a slash", {"type": "a/b"}, "type"),
    ("non-ASCII type", {"type": "émail"}, "type"),
    ("type of 129 characters", {"type": "t" * 129}, "type"),
    ("unknown priority", {"priority": 9}, "priority"),
    ("negative retries", {"retries": -1}, "retries"),
    ("retries over 100", {"retries": 101}, "retries"),
    ("payload that is not JSON", {"payload_json": "{not json"}, "payload_json"),
    ("payload array", {"payload_json": "[1, 2]"}, "payload_json"),
    ("payload string", {"payload_json": '"text"'}, "payload_json"),
    ("payload null", {"payload_json": "null"}, "payload_json"),
    ("payload number", {"payload_json": "42"}, "payload_json"),
    ("run_at and delay_s together", {"run_at": run_at(NOW_MS + 1000), "delay_s": 1.0}, "delay_s"),
    ("run_at over a year ahead", {"run_at": run_at(NOW_MS + YEAR_MS + 1000)}, "run_at"),
    ("negative delay_s", {"delay_s": -1.0}, "delay_s"),
    ("delay_s over a year", {"delay_s": MAX_DELAY_S + 1.0}, "delay_s"),
    ("NaN delay_s", {"delay_s": math.nan}, "delay_s"),
    ("idempotency key with a space", {"idempotency_key": "a b"}, "idempotency_key"),
    ("idempotency key with a tab", {"idempotency_key": "a\tb"}, "idempotency_key"),
    ("non-ASCII idempotency key", {"idempotency_key": "clé"}, "idempotency_key"),
    ("idempotency key of 257 characters", {"idempotency_key": "k" * 257}, "idempotency_key"),
    ("negative timeout_s", {"timeout_s": -0.5}, "timeout_s"),
    ("timeout_s over a week", {"timeout_s": MAX_TIMEOUT_S + 1.0}, "timeout_s"),
    ("NaN timeout_s", {"timeout_s": math.nan}, "timeout_s"),
    ("zero lease_ttl_s", {"lease_ttl_s": 0.0}, "lease_ttl_s"),
    ("lease_ttl_s under a second", {"lease_ttl_s": 0.5}, "lease_ttl_s"),
    ("lease_ttl_s over a day", {"lease_ttl_s": MAX_LEASE_S + 1.0}, "lease_ttl_s"),
    (
        "negative backoff base",
        {"retry_policy": {"base_delay_s": -1.0}},
        "retry_policy.base_delay_s",
    ),
    (
        "backoff base over a year",
        {"retry_policy": {"base_delay_s": MAX_DELAY_S + 1.0}},
        "retry_policy.base_delay_s",
    ),
    ("backoff factor under 1", {"retry_policy": {"factor": 0.5}}, "retry_policy.factor"),
    ("backoff factor over 100", {"retry_policy": {"factor": 100.5}}, "retry_policy.factor"),
    ("NaN backoff factor", {"retry_policy": {"factor": math.nan}}, "retry_policy.factor"),
    (
        "negative backoff max",
        {"retry_policy": {"max_delay_s": -1.0}},
        "retry_policy.max_delay_s",
    ),
]


@pytest.mark.parametrize(("fields", "field"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_input_is_rejected_naming_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        submit_to_job(request(**fields), CONFIG, NOW_MS)
    assert caught.value.field == field
    assert field.split(".")[-1] in caught.value.message


@pytest.mark.parametrize(("fields", "field"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_batch_errors_carry_the_job_index(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        submit_to_job(request(**fields), CONFIG, NOW_MS, field="jobs[3].")
    assert caught.value.field == f"jobs[3].{field}"


def test_payload_over_the_limit_is_too_large_naming_the_field() -> None:
    payload = '{"k": "' + "x" * 1024 + '"}'
    with pytest.raises(TooLarge) as caught:
        submit_to_job(request(payload_json=payload), CONFIG, NOW_MS)
    assert caught.value.field == "payload_json"
    assert "1024" in caught.value.message
    with pytest.raises(TooLarge) as in_batch:
        submit_to_job(request(payload_json=payload), CONFIG, NOW_MS, field="jobs[0].")
    assert in_batch.value.field == "jobs[0].payload_json"


def test_payload_limit_counts_utf8_bytes_not_characters() -> None:
    body = "é" * 510  # 1020 bytes, 510 characters
    text = '{"k":"' + body + '"}'
    assert len(text) < 1024 < len(text.encode())
    with pytest.raises(TooLarge):
        submit_to_job(request(payload_json=text), CONFIG, NOW_MS)


def test_payload_exactly_at_the_limit_is_accepted() -> None:
    text = '{"k":"' + "x" * (1024 - 8) + '"}'
    assert len(text.encode()) == 1024
    assert submit_to_job(request(payload_json=text), CONFIG, NOW_MS).payload == text


def test_oversized_trace_context_is_too_large() -> None:
    trace = {"traceparent": "x" * MAX_TRACE_BYTES}
    with pytest.raises(TooLarge) as caught:
        submit_to_job(request(trace_context=trace), CONFIG, NOW_MS)
    assert caught.value.field == "trace_context"


def test_defaults_for_unset_fields() -> None:
    job = submit_to_job(request(), CONFIG, NOW_MS)
    assert (job.type, job.priority, job.retries, job.payload) == ("email", "normal", 3, "{}")
    assert (job.run_at_ms, job.timeout_ms, job.lease_ms) == (0, 0, 0)
    assert job.backoff_base_ms is job.backoff_factor is job.backoff_max_ms is None
    assert (job.idempotency_key, job.trace) == ("", "")
    assert uuid.UUID(job.id).version == 4


def test_every_submit_gets_a_fresh_id() -> None:
    ids = {submit_to_job(request(), CONFIG, NOW_MS).id for _ in range(50)}
    assert len(ids) == 50


@pytest.mark.parametrize(
    ("value", "word"),
    [
        (job_pb2.PRIORITY_UNSPECIFIED, "normal"),
        (job_pb2.PRIORITY_HIGH, "high"),
        (job_pb2.PRIORITY_NORMAL, "normal"),
        (job_pb2.PRIORITY_LOW, "low"),
    ],
)
def test_priority_words(value: int, word: str) -> None:
    assert submit_to_job(request(priority=value), CONFIG, NOW_MS).priority == word


@pytest.mark.parametrize("retries", [0, 1, 100])
def test_retries_bounds_are_inclusive_and_zero_is_kept(retries: int) -> None:
    assert submit_to_job(request(retries=retries), CONFIG, NOW_MS).retries == retries


def test_boundary_values_are_accepted() -> None:
    allowed = "AZaz09_.:-" + "t" * 118
    key = "".join(chr(c) for c in range(0x21, 0x7F)) + "k" * 162
    assert len(allowed) == 128 and len(key) == 256
    job = submit_to_job(
        request(
            type=allowed,
            idempotency_key=key,
            timeout_s=float(MAX_TIMEOUT_S),
            lease_ttl_s=float(MAX_LEASE_S),
            retry_policy={"base_delay_s": 0.0, "factor": 100.0, "max_delay_s": float(MAX_DELAY_S)},
        ),
        CONFIG,
        NOW_MS,
    )
    assert (job.type, job.idempotency_key) == (allowed, key)
    assert (job.timeout_ms, job.lease_ms) == (MAX_TIMEOUT_S * 1000, MAX_LEASE_S * 1000)
    assert (job.backoff_base_ms, job.backoff_factor, job.backoff_max_ms) == (0, 100.0, YEAR_MS)
    low = submit_to_job(request(lease_ttl_s=1.0, retry_policy={"factor": 1.0}), CONFIG, NOW_MS)
    assert (low.lease_ms, low.backoff_factor) == (1000, 1.0)


def test_delay_becomes_an_absolute_run_at() -> None:
    assert submit_to_job(request(delay_s=2.5), CONFIG, NOW_MS).run_at_ms == NOW_MS + 2500
    assert submit_to_job(request(delay_s=0.0), CONFIG, NOW_MS).run_at_ms == 0
    at = NOW_MS + YEAR_MS
    assert submit_to_job(request(run_at=run_at(at)), CONFIG, NOW_MS).run_at_ms == at


def test_run_at_in_the_past_is_kept_and_means_now() -> None:
    job = submit_to_job(request(run_at=run_at(NOW_MS - 60_000)), CONFIG, NOW_MS)
    assert job.run_at_ms == NOW_MS - 60_000


def test_timeouts_leases_and_backoff_convert_to_ms() -> None:
    job = submit_to_job(
        request(
            timeout_s=1.5,
            lease_ttl_s=2.25,
            retry_policy={"base_delay_s": 0.25, "factor": 3.0, "max_delay_s": 60.0},
        ),
        CONFIG,
        NOW_MS,
    )
    assert (job.timeout_ms, job.lease_ms) == (1500, 2250)
    assert (job.backoff_base_ms, job.backoff_factor, job.backoff_max_ms) == (250, 3.0, 60_000)


def test_payload_and_trace_context_are_kept_verbatim() -> None:
    job = submit_to_job(
        request(payload_json='{"to": "a@b.c"}', trace_context={"traceparent": "00-ab-cd-01"}),
        CONFIG,
        NOW_MS,
    )
    assert job.payload == '{"to": "a@b.c"}'
    assert job.trace == '{"traceparent":"00-ab-cd-01"}'
