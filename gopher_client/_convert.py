"""Conversions between Python values and contract messages shared by both clients."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import orjson
from gopher.v1 import job_pb2, job_service_pb2

from gopher_client._tracing import inject

PRIORITY_BY_NAME: dict[str, int] = {
    "high": job_pb2.PRIORITY_HIGH,
    "normal": job_pb2.PRIORITY_NORMAL,
    "low": job_pb2.PRIORITY_LOW,
}
STATE_BY_NAME: dict[str, int] = {
    "scheduled": job_pb2.JOB_STATE_SCHEDULED,
    "enqueued": job_pb2.JOB_STATE_ENQUEUED,
    "active": job_pb2.JOB_STATE_ACTIVE,
    "retrying": job_pb2.JOB_STATE_RETRYING,
    "succeeded": job_pb2.JOB_STATE_SUCCEEDED,
    "dead": job_pb2.JOB_STATE_DEAD,
    "cancelled": job_pb2.JOB_STATE_CANCELLED,
}
STATE_NAMES: dict[int, str] = {v: k for k, v in STATE_BY_NAME.items()}
PRIORITY_NAMES: dict[int, str] = {v: k for k, v in PRIORITY_BY_NAME.items()}
FINAL_STATES = frozenset(
    {job_pb2.JOB_STATE_SUCCEEDED, job_pb2.JOB_STATE_DEAD, job_pb2.JOB_STATE_CANCELLED}
)


def priority_value(priority: str | int | None) -> int:
    """Map "high"/"normal"/"low" (or an enum value, or None for unset) to the enum."""
    if priority is None:
        return job_pb2.PRIORITY_UNSPECIFIED
    if isinstance(priority, int):
        return priority
    try:
        return PRIORITY_BY_NAME[priority.lower()]
    except KeyError:
        raise ValueError(f"priority must be one of high, normal, low; got {priority!r}") from None


def state_value(state: str | int | None) -> int:
    """Map a lowercase state word (or enum value, or None for any) to the enum."""
    if state is None:
        return job_pb2.JOB_STATE_UNSPECIFIED
    if isinstance(state, int):
        return state
    try:
        return STATE_BY_NAME[state.lower()]
    except KeyError:
        raise ValueError(
            f"state must be one of {', '.join(STATE_BY_NAME)}; got {state!r}"
        ) from None


def payload_json(payload: Mapping[str, Any] | str | bytes | None) -> str:
    """Serialise a payload for the wire; strings and bytes are sent as given."""
    if payload is None:
        return ""
    if isinstance(payload, bytes):
        return payload.decode()
    if isinstance(payload, str):
        return payload
    return orjson.dumps(payload).decode()


Payload = Mapping[str, Any] | str | bytes | None


class SubmitOptions(TypedDict, total=False):
    """The keyword arguments of `submit_request` and `submit_job` after the payload."""

    priority: str | int | None
    retries: int | None
    run_at: dt.datetime | None
    delay_s: float | None
    idempotency_key: str
    timeout_s: float | None
    lease_ttl_s: float | None
    trace_context: Mapping[str, str] | None
    on_success: Sequence[job_service_pb2.SubmitJobRequest]
    on_failure: Sequence[job_service_pb2.SubmitJobRequest]


def submit_request(
    job_type: str,
    payload: Mapping[str, Any] | str | bytes | None = None,
    *,
    priority: str | int | None = None,
    retries: int | None = None,
    run_at: dt.datetime | None = None,
    delay_s: float | None = None,
    idempotency_key: str = "",
    timeout_s: float | None = None,
    lease_ttl_s: float | None = None,
    trace_context: Mapping[str, str] | None = None,
    on_success: Sequence[job_service_pb2.SubmitJobRequest] = (),
    on_failure: Sequence[job_service_pb2.SubmitJobRequest] = (),
) -> job_service_pb2.SubmitJobRequest:
    """Build a SubmitJobRequest from keyword arguments (see Client.submit_job).

    `on_success` / `on_failure` are follow-up jobs (themselves built with this
    function) that the broker submits when this job succeeds / dies; each receives the
    parent's outcome in its payload under "parent" (see docs/workflows.md).
    """
    # Only the fields given are set: passing empty maps and lists to the constructor
    # costs more than the rest of the request (a one-at-a-time loop builds one per job).
    request = job_service_pb2.SubmitJobRequest(type=job_type, payload_json=payload_json(payload))
    if priority is not None:
        request.priority = priority_value(priority)  # type: ignore[assignment]
    if idempotency_key:
        request.idempotency_key = idempotency_key
    # Link the job to the caller's trace unless the caller chose a context.
    trace = dict(trace_context) if trace_context is not None else inject()
    if trace:
        request.trace_context.update(trace)
    if on_success:
        request.on_success.extend(on_success)
    if on_failure:
        request.on_failure.extend(on_failure)
    if retries is not None:
        request.retries = retries
    if run_at is not None:
        if run_at.tzinfo is None:
            raise ValueError("run_at must be timezone-aware")
        request.run_at.FromDatetime(run_at.astimezone(dt.UTC))
    if delay_s is not None:
        request.delay_s = delay_s
    if timeout_s is not None:
        request.timeout_s = timeout_s
    if lease_ttl_s is not None:
        request.lease_ttl_s = lease_ttl_s
    return request


def group_request(
    jobs: Sequence[job_service_pb2.SubmitJobRequest],
    *,
    on_complete: Sequence[job_service_pb2.SubmitJobRequest] = (),
    on_success: Sequence[job_service_pb2.SubmitJobRequest] = (),
    on_failure: Sequence[job_service_pb2.SubmitJobRequest] = (),
    idempotency_key: str = "",
) -> job_service_pb2.SubmitGroupRequest:
    """Build a SubmitGroupRequest: member jobs and the follow-ups of the group's
    outcome, each built with `submit_request`."""
    return job_service_pb2.SubmitGroupRequest(
        jobs=jobs,
        on_complete=on_complete,
        on_success=on_success,
        on_failure=on_failure,
        idempotency_key=idempotency_key,
    )
