"""The job as a handler sees it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from gopher.v1 import job_pb2

_PRIORITIES = {
    job_pb2.PRIORITY_HIGH: "high",
    job_pb2.PRIORITY_NORMAL: "normal",
    job_pb2.PRIORITY_LOW: "low",
}


@dataclass
class Job:
    """One delivery of a job to a handler.

    `payload` is the decoded JSON object; `attempt` starts at 1; `retries` is how many
    retries the job allows after its first attempt.
    """

    id: str
    type: str
    payload: dict[str, Any]
    attempt: int
    retries: int
    priority: str
    created_unix_ms: int
    trace_context: dict[str, str] = field(default_factory=dict)
    lease_token: int = 0
    parent_id: str = ""  # the job whose follow-up this is, if any

    @property
    def is_last_attempt(self) -> bool:
        """True when a failure now sends the job to the dead letter queue."""
        return self.attempt > self.retries

    @classmethod
    def from_lease(cls, lease: job_pb2.LeasedJob) -> Job:
        """Build from a delivery message."""
        return cls(
            id=lease.job_id,
            type=lease.type,
            payload=orjson.loads(lease.payload_json or "{}"),
            attempt=lease.attempt,
            retries=lease.retries,
            priority=_PRIORITIES.get(lease.priority, "normal"),
            created_unix_ms=lease.created_unix_ms,
            trace_context=dict(lease.trace_context),
            lease_token=lease.lease_token,
            parent_id=lease.parent_id,
        )
