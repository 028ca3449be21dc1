"""Store records to contract messages."""

from __future__ import annotations

from typing import Any

import orjson
from google.protobuf.timestamp_pb2 import Timestamp
from gopher.v1 import job_pb2

from gopher_server.store.records import GroupRecord, JobRecord, Lease

STATES: dict[str, job_pb2.JobState] = {
    "scheduled": job_pb2.JOB_STATE_SCHEDULED,
    "enqueued": job_pb2.JOB_STATE_ENQUEUED,
    "active": job_pb2.JOB_STATE_ACTIVE,
    "retrying": job_pb2.JOB_STATE_RETRYING,
    "succeeded": job_pb2.JOB_STATE_SUCCEEDED,
    "dead": job_pb2.JOB_STATE_DEAD,
    "cancelled": job_pb2.JOB_STATE_CANCELLED,
}
STATE_WORDS = {v: k for k, v in STATES.items()}
PRIORITIES: dict[str, job_pb2.Priority] = {
    "high": job_pb2.PRIORITY_HIGH,
    "normal": job_pb2.PRIORITY_NORMAL,
    "low": job_pb2.PRIORITY_LOW,
}
FINAL = frozenset({"succeeded", "dead", "cancelled"})
GROUP_STATES: dict[str, job_pb2.GroupState] = {
    "running": job_pb2.GROUP_STATE_RUNNING,
    "succeeded": job_pb2.GROUP_STATE_SUCCEEDED,
    "failed": job_pb2.GROUP_STATE_FAILED,
    "cancelled": job_pb2.GROUP_STATE_CANCELLED,
}


def _ts(ms: int) -> Timestamp:
    ts = Timestamp()
    ts.FromMilliseconds(ms)
    return ts


def _trace(raw: str) -> dict[str, str]:
    return dict(orjson.loads(raw)) if raw else {}


def job_message(record: JobRecord, with_history: bool = True) -> job_pb2.Job:
    """The Job message for a stored record (history and errors when asked)."""
    f = record.fields
    job = job_pb2.Job(
        id=record.id,
        type=f.get("type", ""),
        priority=PRIORITIES.get(f.get("prio", ""), job_pb2.PRIORITY_UNSPECIFIED),
        state=STATES.get(record.state, job_pb2.JOB_STATE_UNSPECIFIED),
        payload_json=f.get("payload", "{}"),
        result_json=f.get("result", ""),
        attempt=record.get_int("attempt"),
        retries=record.get_int("retries"),
        idempotency_key=f.get("idem", ""),
        timeout_s=record.get_int("timeout_ms") / 1000,
        lease_ttl_s=record.get_int("lease_ms") / 1000,
        worker_id=f.get("wid", ""),
        trace_context=_trace(f.get("trace", "")),
        parent_id=f.get("parent", ""),
        follow_up_ids=[i for i in f.get("follow_ups", "").split(",") if i],
        group_id=f.get("grp", ""),
        parent_group_id=f.get("pgrp", ""),
    )
    created = record.get_int("created")
    job.created_at.CopyFrom(_ts(created))
    job.run_at.CopyFrom(_ts(record.get_int("run_at", created)))
    for name, target in (("started", job.started_at), ("finished", job.finished_at)):
        if f.get(name):
            target.CopyFrom(_ts(record.get_int(name)))
    if "bo_base" in f:
        job.retry_policy.base_delay_s = record.get_int("bo_base") / 1000
    if "bo_factor" in f:
        job.retry_policy.factor = float(f["bo_factor"])
    if "bo_max" in f:
        job.retry_policy.max_delay_s = record.get_int("bo_max") / 1000
    if with_history:
        if record.history_whole:
            _add_submit(job, record, created)
        _add_history(job, record.events)
    return job


def _add_submit(job: job_pb2.Job, record: JobRecord, created_ms: int) -> None:
    # The submit itself is not stored (it would cost memory per queued job). Every later
    # transition is, so the state the submit created is the one the first stored event
    # left, or the current state when nothing happened since. (Not `run_at`: a retry
    # overwrites it.)
    events = record.events
    submitted = events[0].get("f", "") if events else record.state
    first = job.events.add(attempt=0, to_state=STATES.get(submitted, 0))
    first.time.CopyFrom(_ts(created_ms))


def _add_history(job: job_pb2.Job, events: list[dict[str, Any]]) -> None:
    for ev in events:
        t = int(ev.get("t", 0))
        error = f"{ev['et']}: {ev.get('em', '')}" if "et" in ev else ""
        out = job.events.add(
            from_state=STATES.get(ev.get("f", ""), 0),
            to_state=STATES.get(ev.get("s", ""), 0),
            attempt=int(ev.get("a", 0)),
            worker_id=ev.get("w", ""),
            error=error,
        )
        out.time.CopyFrom(_ts(t))
        if "et" in ev:
            err = job.errors.add(
                attempt=int(ev.get("a", 0)),
                error_type=ev["et"],
                message=ev.get("em", ""),
                traceback=ev.get("tb", ""),
                worker_id=ev.get("w", ""),
            )
            err.time.CopyFrom(_ts(t))


def leased_job(lease: Lease) -> job_pb2.LeasedJob:
    """The delivery message for one lease."""
    return job_pb2.LeasedJob(
        job_id=lease.job_id,
        type=lease.type,
        priority=PRIORITIES.get(lease.priority, 0),  # type: ignore[arg-type]
        payload_json=lease.payload,
        attempt=lease.attempt,
        retries=lease.retries,
        lease_token=lease.token,
        lease_deadline_unix_ms=lease.deadline_ms,
        lease_ttl_ms=lease.lease_ms,
        timeout_s=lease.timeout_ms / 1000,
        created_unix_ms=lease.created_ms,
        ready_unix_ms=lease.ready_ms,
        trace_context=_trace(lease.trace),
        parent_id=lease.parent_id,
    )


def group_message(record: GroupRecord) -> job_pb2.Group:
    """The Group message for a stored group: members counted by state, in JobState order."""
    counts: dict[job_pb2.JobState, int] = {}
    for word in record.member_states:
        state = STATES.get(word, job_pb2.JOB_STATE_UNSPECIFIED)
        counts[state] = counts.get(state, 0) + 1
    group = job_pb2.Group(
        id=record.id,
        state=GROUP_STATES.get(record.state, job_pb2.GROUP_STATE_UNSPECIFIED),
        member_ids=record.member_ids,
        counts=[job_pb2.GroupStateCount(state=s, count=n) for s, n in sorted(counts.items())],
        follow_up_ids=record.follow_up_ids,
        idempotency_key=record.idempotency_key,
    )
    group.created_at.CopyFrom(_ts(record.created_ms))
    if record.finished_ms:
        group.finished_at.CopyFrom(_ts(record.finished_ms))
    return group
