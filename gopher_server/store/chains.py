"""Follow-up jobs ("chains"): how a job's on_success / on_failure jobs are stored.

A job's follow-ups are validated at submit and kept on its hash as JSON (fields `on_ok`
and `on_fail`). When the job succeeds (ack.lua) or dies (`to_dead` in the prelude), the
same script creates them, so they exist exactly when the parent's transition does.
Every value is a string, so the Lua side never converts numbers; a follow-up's own
follow-ups are nested as pre-encoded JSON strings and copied to its hash verbatim.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from gopher_server.store.records import NewJob

# The payload key under which a follow-up receives its parent's outcome.
PARENT_KEY = "parent"
# The payload key under which a group's follow-up receives the group's outcome.
GROUP_KEY = "group"


def _spec(job: NewJob) -> dict[str, str]:
    optional = {
        "idem": job.idempotency_key,
        "timeout_ms": str(job.timeout_ms) if job.timeout_ms else "",
        "lease_ms": str(job.lease_ms) if job.lease_ms else "",
        "bo_base": "" if job.backoff_base_ms is None else str(job.backoff_base_ms),
        "bo_factor": "" if job.backoff_factor is None else str(job.backoff_factor),
        "bo_max": "" if job.backoff_max_ms is None else str(job.backoff_max_ms),
        "trace": job.trace,
        "delay_ms": str(job.delay_ms) if job.delay_ms else "",
        "on_ok": encode_follow_ups(job.on_success),
        "on_fail": encode_follow_ups(job.on_failure),
    }
    spec = {
        "id": job.id,
        "type": job.type,
        "prio": job.priority,
        "payload": job.payload,
        "retries": str(job.retries),
    }
    spec.update({k: v for k, v in optional.items() if v})
    return spec


def encode_follow_ups(jobs: Sequence[NewJob]) -> str:
    """The stored form of a list of follow-ups ('' for none)."""
    if not jobs:
        return ""
    return orjson.dumps([_spec(job) for job in jobs]).decode()


def follow_up_count(job: NewJob) -> int:
    """How many follow-ups `job` carries, at every depth."""
    return sum(1 + follow_up_count(f) for f in (*job.on_success, *job.on_failure))
