"""Store records to contract messages."""

from __future__ import annotations

import orjson
from google.protobuf.timestamp_pb2 import Timestamp
from gopher.v1 import job_pb2

from gopher_server.store import schema
from gopher_server.store.records import GroupRecord, HistoryEvent, JobRecord, Lease

# The words come from the contract's enums, in one place (store/schema.py).
STATES = schema.STATES
STATE_WORDS = schema.STATE_WORDS
PRIORITIES = schema.PRIORITIES
FINAL = schema.FINAL_STATES
GROUP_STATES = schema.GROUP_STATES


def _ts(ms: int) -> Timestamp:
    ts = Timestamp()
    ts.FromMilliseconds(ms)
    return ts


def _trace(raw: str) -> dict[str, str]:
    return dict(orjson.loads(raw)) if raw else {}


def job_message(record: JobRecord, with_history: bool = True) -> job_pb2.Job:
    """The Job message for a stored record (history and errors when asked)."""
    r = record
    job = job_pb2.Job(
        id=r.id,
        type=r.type,
        priority=PRIORITIES.get(r.priority, job_pb2.PRIORITY_UNSPECIFIED),
        state=STATES.get(r.state, job_pb2.JOB_STATE_UNSPECIFIED),
        payload_json=r.payload,
        result_json=r.result,
        attempt=r.attempt,
        retries=r.retries,
        idempotency_key=r.idempotency_key,
        timeout_s=r.timeout_ms / 1000,
        lease_ttl_s=r.lease_ms / 1000,
        worker_id=r.worker_id,
        trace_context=_trace(r.trace),
        parent_id=r.parent_id,
        follow_up_ids=list(r.follow_up_ids),
        group_id=r.group_id,
        parent_group_id=r.parent_group_id,
    )
    job.created_at.CopyFrom(_ts(r.created_ms))
    job.run_at.CopyFrom(_ts(r.run_at_ms or r.created_ms))
    for ms, target in ((r.started_ms, job.started_at), (r.finished_ms, job.finished_at)):
        if ms:
            target.CopyFrom(_ts(ms))
    if r.backoff_base_ms is not None:
        job.retry_policy.base_delay_s = r.backoff_base_ms / 1000
    if r.backoff_factor is not None:
        job.retry_policy.factor = r.backoff_factor
    if r.backoff_max_ms is not None:
        job.retry_policy.max_delay_s = r.backoff_max_ms / 1000
    if with_history:
        if r.history_whole:
            _add_submit(job, r, r.created_ms)
        _add_history(job, r.events)
    return job


def _add_submit(job: job_pb2.Job, record: JobRecord, created_ms: int) -> None:
    # The submit itself is not stored (it would cost memory per queued job). Every later
    # transition is, so the state the submit created is the one the first stored event
    # left, or the current state when nothing happened since. (Not `run_at`: a retry
    # overwrites it.)
    events = record.events
    submitted = events[0].from_state if events else record.state
    first = job.events.add(attempt=0, to_state=STATES.get(submitted, 0))
    first.time.CopyFrom(_ts(created_ms))


def _add_history(job: job_pb2.Job, events: list[HistoryEvent]) -> None:
    for ev in events:
        error = "" if ev.error_type is None else f"{ev.error_type}: {ev.error_message}"
        out = job.events.add(
            from_state=STATES.get(ev.from_state, 0),
            to_state=STATES.get(ev.to_state, 0),
            attempt=ev.attempt,
            worker_id=ev.worker_id,
            error=error,
        )
        out.time.CopyFrom(_ts(ev.time_ms))
        if ev.error_type is not None:
            err = job.errors.add(
                attempt=ev.attempt,
                error_type=ev.error_type,
                message=ev.error_message,
                traceback=ev.traceback,
                worker_id=ev.worker_id,
            )
            err.time.CopyFrom(_ts(ev.time_ms))


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
