"""Validation of client input. Everything here runs before any write, so a rejected
request changes nothing."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace

import orjson
from gopher.v1 import job_pb2, job_service_pb2

from gopher_server.config import ServerConfig
from gopher_server.errors import InvalidArgument, TooLarge
from gopher_server.store.chains import GROUP_KEY, PARENT_KEY, encode_follow_ups, follow_up_count
from gopher_server.store.job_types import NO_TYPE_DEFAULTS, TypeDefaults
from gopher_server.store.records import NewGroup, NewJob

NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
IDEMPOTENCY_RE = re.compile(r"^[\x21-\x7e]{1,256}$")
MAX_DELAY_S = 365 * 24 * 3600
MAX_TIMEOUT_S = 7 * 24 * 3600
MAX_LEASE_S = 24 * 3600
MAX_TRACE_BYTES = 4096
# Follow-ups nest at most this many levels below the submitted job, and one submitted
# job carries at most this many in all; their stored form counts against the payload
# limit, since it lives on the parent until the parent finishes.
MAX_CHAIN_DEPTH = 5
MAX_FOLLOW_UPS = 100
PRIORITY_WORDS: dict[int, str] = {
    job_pb2.PRIORITY_UNSPECIFIED: "normal",
    job_pb2.PRIORITY_HIGH: "high",
    job_pb2.PRIORITY_NORMAL: "normal",
    job_pb2.PRIORITY_LOW: "low",
}
# Per-type defaults by job type (see components/type_catalog.py); empty: none.
Defaults = Mapping[str, TypeDefaults]
NO_DEFAULTS: Defaults = {}


def check_name(value: str, field: str, what: str = "job type") -> str:
    """Return `value` if it is a valid job type / worker id / schedule name."""
    if not NAME_RE.match(value):
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise InvalidArgument(
            f"{field} must be a {what} of 1-128 characters from [A-Za-z0-9_.:-]; got {shown!r}",
            field,
        )
    return value


def priority_word(value: int, field: str = "priority", allow_unset: bool = True) -> str:
    """'high', 'normal' or 'low' for a Priority enum value."""
    if value == job_pb2.PRIORITY_UNSPECIFIED and not allow_unset:
        raise InvalidArgument(f"{field} must be one of high, normal, low", field)
    try:
        return PRIORITY_WORDS[value]
    except KeyError:
        raise InvalidArgument(
            f"{field} must be one of high, normal, low; got {value}", field
        ) from None


def check_payload(text: str, field: str, limit: int) -> str:
    """The payload as stored: a JSON object within the size limit ('' means {})."""
    if not text:
        return "{}"
    size = len(text.encode())
    if size > limit:
        raise TooLarge(f"{field} is {size} bytes; the limit is {limit} bytes", field)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"{field} is not valid JSON: {exc}", field) from None
    if not isinstance(value, dict):
        raise InvalidArgument(f"{field} must be a JSON object, got {type(value).__name__}", field)
    return text


def _seconds(value: float, field: str, low: float, high: float) -> float:
    if not (low <= value <= high):  # also rejects NaN
        raise InvalidArgument(f"{field} must be between {low:g} and {high:g} seconds", field)
    return value


def _follow_ups(
    requests: Sequence[job_service_pb2.SubmitJobRequest],
    config: ServerConfig,
    now_ms: int,
    field: str,
    depth: int,
    defaults: Defaults,
) -> tuple[NewJob, ...]:
    if requests and depth >= MAX_CHAIN_DEPTH:
        raise InvalidArgument(
            f"{field} nests follow-ups deeper than {MAX_CHAIN_DEPTH} levels", field
        )
    return tuple(
        submit_to_job(r, config, now_ms, f"{field}[{i}].", depth + 1, defaults=defaults)
        for i, r in enumerate(requests)
    )


def _check_follow_up(
    request: job_service_pb2.SubmitJobRequest, payload: str, field: str, reserved_key: str
) -> None:
    if request.HasField("run_at"):
        raise InvalidArgument(
            f"{field}run_at is not allowed on a follow-up; use delay_s (from the parent's end)",
            field + "run_at",
        )
    if reserved_key in orjson.loads(payload):
        whose = "group's" if reserved_key == GROUP_KEY else "parent's"
        raise InvalidArgument(
            f"{field}payload_json must not hold the key {reserved_key!r}: the broker sets it "
            f"to the {whose} outcome",
            field + "payload_json",
        )


def _check_chain(job: NewJob, config: ServerConfig, field: str) -> None:
    if follow_up_count(job) > MAX_FOLLOW_UPS:
        raise TooLarge(
            f"{field}on_success and {field}on_failure hold more than {MAX_FOLLOW_UPS} "
            "follow-ups in all",
            field + "on_success",
        )
    size = len(encode_follow_ups(job.on_success)) + len(encode_follow_ups(job.on_failure))
    if size > config.max_payload_bytes:
        raise TooLarge(
            f"{field}on_success and {field}on_failure take {size} bytes stored; the limit "
            f"is {config.max_payload_bytes} bytes",
            field + "on_success",
        )


def submit_to_job(
    request: job_service_pb2.SubmitJobRequest,
    config: ServerConfig,
    now_ms: int,
    field: str = "",
    depth: int = 0,
    reserved_key: str = PARENT_KEY,
    call_trace: str = "",
    defaults: Defaults = NO_DEFAULTS,
) -> NewJob:
    """Validate one SubmitJobRequest into a NewJob. `field` prefixes field names
    (e.g. "jobs[3]." inside a batch); `depth` > 0 validates a follow-up at that level
    (no run_at; delay_s counts from the parent's end; no `reserved_key` in the payload:
    "parent" for a job's follow-up, "group" for a group's). `call_trace` is the stored
    trace of a job without a trace_context of its own (follow-ups inherit their
    parent's instead). `defaults` holds per-type defaults for the fields the request
    leaves unset (follow-ups included); the request's own values always win."""
    f = field
    job_type = check_name(request.type, f + "type")
    d = defaults.get(job_type) or NO_TYPE_DEFAULTS
    priority = priority_word(request.priority, f + "priority")
    if not request.priority and d.priority is not None:
        priority = d.priority
    retries = 3 if d.retries is None else d.retries
    if request.HasField("retries"):
        retries = request.retries
    if not 0 <= retries <= 100:
        raise InvalidArgument(f"{f}retries must be between 0 and 100; got {retries}", f + "retries")
    payload = check_payload(request.payload_json, f + "payload_json", config.max_payload_bytes)
    if depth:
        _check_follow_up(request, payload, f, reserved_key)
    run_at_ms = 0
    if request.HasField("run_at") and request.HasField("delay_s"):
        raise InvalidArgument(f"{f}run_at and {f}delay_s are exclusive; give one", f + "delay_s")
    if request.HasField("run_at"):
        run_at_ms = request.run_at.ToMilliseconds()
        if run_at_ms > now_ms + MAX_DELAY_S * 1000:
            raise InvalidArgument(f"{f}run_at is more than a year ahead", f + "run_at")
    elif request.HasField("delay_s"):
        delay = _seconds(request.delay_s, f + "delay_s", 0, MAX_DELAY_S)
        run_at_ms = now_ms + int(delay * 1000) if delay > 0 else 0
    key = request.idempotency_key
    if key and not IDEMPOTENCY_RE.match(key):
        raise InvalidArgument(
            f"{f}idempotency_key must be 1-256 printable ASCII characters", f + "idempotency_key"
        )
    timeout_ms = int(_seconds(request.timeout_s, f + "timeout_s", 0, MAX_TIMEOUT_S) * 1000)
    if not request.HasField("timeout_s") and d.timeout_ms is not None:
        timeout_ms = d.timeout_ms
    lease_ms = d.lease_ms or 0
    if request.HasField("lease_ttl_s"):
        lease_ms = int(_seconds(request.lease_ttl_s, f + "lease_ttl_s", 1, MAX_LEASE_S) * 1000)
    policy = request.retry_policy
    base, factor, maximum = d.backoff_base_ms, d.backoff_factor, d.backoff_max_ms
    if policy.HasField("base_delay_s"):
        base = int(
            _seconds(policy.base_delay_s, f + "retry_policy.base_delay_s", 0, MAX_DELAY_S) * 1000
        )
    if policy.HasField("factor"):
        factor = policy.factor
        if not 1.0 <= factor <= 100.0:
            raise InvalidArgument(
                f"{f}retry_policy.factor must be in [1, 100]", f + "retry_policy.factor"
            )
    if policy.HasField("max_delay_s"):
        maximum = int(
            _seconds(policy.max_delay_s, f + "retry_policy.max_delay_s", 0, MAX_DELAY_S) * 1000
        )
    trace = "" if depth else call_trace
    if request.trace_context:
        trace = orjson.dumps(dict(request.trace_context)).decode()
        if len(trace) > MAX_TRACE_BYTES:
            raise TooLarge(f"{f}trace_context is over {MAX_TRACE_BYTES} bytes", f + "trace_context")
    job = NewJob(
        id=str(uuid.uuid4()),
        type=job_type,
        priority=priority,
        payload=payload,
        retries=retries,
        run_at_ms=run_at_ms,
        idempotency_key=key,
        timeout_ms=timeout_ms,
        lease_ms=lease_ms,
        backoff_base_ms=base,
        backoff_factor=factor,
        backoff_max_ms=maximum,
        trace=trace,
    )
    if depth:  # a follow-up's delay counts from its parent's end, not from now
        job = replace(job, run_at_ms=0, delay_ms=max(0, run_at_ms - now_ms))
    if request.on_success or request.on_failure:
        job = replace(
            job,
            on_success=_follow_ups(
                request.on_success, config, now_ms, f + "on_success", depth, defaults
            ),
            on_failure=_follow_ups(
                request.on_failure, config, now_ms, f + "on_failure", depth, defaults
            ),
        )
        if depth == 0:
            _check_chain(job, config, f)
    return job


def _group_follow_ups(
    requests: Sequence[job_service_pb2.SubmitJobRequest],
    config: ServerConfig,
    now_ms: int,
    field: str,
    defaults: Defaults,
) -> tuple[NewJob, ...]:
    return tuple(
        submit_to_job(
            r, config, now_ms, f"{field}[{i}].", 1, reserved_key=GROUP_KEY, defaults=defaults
        )
        for i, r in enumerate(requests)
    )


def submit_to_group(
    request: job_service_pb2.SubmitGroupRequest,
    config: ServerConfig,
    now_ms: int,
    call_trace: str = "",
    defaults: Defaults = NO_DEFAULTS,
) -> NewGroup:
    """Validate a SubmitGroupRequest into a NewGroup: 1..max_batch members, each a valid
    SubmitJob without an idempotency key of its own; follow-ups as for a job's, with
    "group" as the key the broker sets in their payloads. `call_trace` as for
    `submit_to_job`, and so is `defaults`."""
    if not request.jobs:
        raise InvalidArgument("jobs must hold at least one member job", "jobs")
    if len(request.jobs) > config.max_batch:
        raise TooLarge(
            f"jobs holds {len(request.jobs)} jobs; the batch limit is {config.max_batch}",
            "jobs",
        )
    members = []
    for i, r in enumerate(request.jobs):
        if r.idempotency_key:
            raise InvalidArgument(
                f"jobs[{i}].idempotency_key is not allowed on a group member; give the group "
                "an idempotency_key instead",
                f"jobs[{i}].idempotency_key",
            )
        members.append(
            submit_to_job(
                r, config, now_ms, f"jobs[{i}].", call_trace=call_trace, defaults=defaults
            )
        )
    key = request.idempotency_key
    if key and not IDEMPOTENCY_RE.match(key):
        raise InvalidArgument(
            "idempotency_key must be 1-256 printable ASCII characters", "idempotency_key"
        )
    on_complete = _group_follow_ups(request.on_complete, config, now_ms, "on_complete", defaults)
    on_success = _group_follow_ups(request.on_success, config, now_ms, "on_success", defaults)
    on_failure = _group_follow_ups(request.on_failure, config, now_ms, "on_failure", defaults)
    follow_ups = (*on_complete, *on_success, *on_failure)
    if sum(1 + follow_up_count(f) for f in follow_ups) > MAX_FOLLOW_UPS:
        raise TooLarge(
            f"on_complete, on_success and on_failure hold more than {MAX_FOLLOW_UPS} "
            "follow-ups in all",
            "on_complete",
        )
    size = sum(len(encode_follow_ups(f)) for f in (on_complete, on_success, on_failure))
    if size > config.max_payload_bytes:
        raise TooLarge(
            f"on_complete, on_success and on_failure take {size} bytes stored; the limit is "
            f"{config.max_payload_bytes} bytes",
            "on_complete",
        )
    return NewGroup(
        id=str(uuid.uuid4()),
        members=tuple(members),
        idempotency_key=key,
        on_complete=on_complete,
        on_success=on_success,
        on_failure=on_failure,
        trace=next((m.trace for m in members if m.trace), ""),
    )
