"""Job type defaults between the contract (JobTypeDefaults) and the store's record.

A worker sends them when its stream opens; the broker validates them as strictly as a
submit's own fields (same ranges), so a default can never produce a job a submitter
could not have asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

from gopher.v1 import worker_service_pb2 as pb

from gopher_server.convert import PRIORITIES
from gopher_server.errors import InvalidArgument
from gopher_server.store.job_types import TypeDefaults
from gopher_server.validation import (
    MAX_DELAY_S,
    MAX_LEASE_S,
    MAX_TIMEOUT_S,
    check_name,
    priority_word,
)


def _ms(value: float, field: str, low: float, high: float) -> int:
    if not (low <= value <= high):  # also rejects NaN
        raise InvalidArgument(f"{field} must be between {low:g} and {high:g} seconds", field)
    return int(value * 1000)


def defaults_from_message(message: pb.JobTypeDefaults, field: str) -> TypeDefaults:
    """Validate one JobTypeDefaults (its type aside). Raises InvalidArgument naming the
    field at fault, e.g. "type_defaults[0].retries"."""
    f = field + "."
    priority = priority_word(message.priority, f + "priority") if message.priority else None
    retries = message.retries if message.HasField("retries") else None
    if retries is not None and not 0 <= retries <= 100:
        raise InvalidArgument(f"{f}retries must be between 0 and 100; got {retries}", f + "retries")
    policy = message.retry_policy
    factor = policy.factor if policy.HasField("factor") else None
    if factor is not None and not 1.0 <= factor <= 100.0:
        raise InvalidArgument(
            f"{f}retry_policy.factor must be in [1, 100]", f + "retry_policy.factor"
        )
    return TypeDefaults(
        priority=priority,
        retries=retries,
        timeout_ms=_ms(message.timeout_s, f + "timeout_s", 0, MAX_TIMEOUT_S)
        if message.HasField("timeout_s")
        else None,
        lease_ms=_ms(message.lease_ttl_s, f + "lease_ttl_s", 1, MAX_LEASE_S)
        if message.HasField("lease_ttl_s")
        else None,
        backoff_base_ms=_ms(policy.base_delay_s, f + "retry_policy.base_delay_s", 0, MAX_DELAY_S)
        if policy.HasField("base_delay_s")
        else None,
        backoff_factor=factor,
        backoff_max_ms=_ms(policy.max_delay_s, f + "retry_policy.max_delay_s", 0, MAX_DELAY_S)
        if policy.HasField("max_delay_s")
        else None,
    )


def stream_defaults(
    entries: Sequence[pb.JobTypeDefaults], job_types: Sequence[str]
) -> dict[str, TypeDefaults]:
    """Validate a StreamJobsRequest's type_defaults: each names one of the worker's
    job_types, at most once."""
    found: dict[str, TypeDefaults] = {}
    for i, entry in enumerate(entries):
        field = f"type_defaults[{i}]"
        check_name(entry.type, field + ".type")
        if entry.type not in job_types:
            raise InvalidArgument(
                f"{field}.type {entry.type!r} is not one of the stream's job_types", field + ".type"
            )
        if entry.type in found:
            raise InvalidArgument(f"{field}.type {entry.type!r} is given twice", field + ".type")
        found[entry.type] = defaults_from_message(entry, field)
    return found


def defaults_message(job_type: str, d: TypeDefaults) -> pb.JobTypeDefaults:
    """The contract form of a type's defaults."""
    message = pb.JobTypeDefaults(type=job_type)
    if d.priority is not None:
        message.priority = PRIORITIES[d.priority]
    if d.retries is not None:
        message.retries = d.retries
    if d.timeout_ms is not None:
        message.timeout_s = d.timeout_ms / 1000
    if d.lease_ms is not None:
        message.lease_ttl_s = d.lease_ms / 1000
    if d.backoff_base_ms is not None:
        message.retry_policy.base_delay_s = d.backoff_base_ms / 1000
    if d.backoff_factor is not None:
        message.retry_policy.factor = d.backoff_factor
    if d.backoff_max_ms is not None:
        message.retry_policy.max_delay_s = d.backoff_max_ms / 1000
    return message
