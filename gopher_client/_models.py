"""What the clients return: jobs and their parts as typed Python values.

Payloads and results arrive as JSON text; here they are decoded. Timestamps are aware
UTC datetimes (None when unset). The message each value came from stays reachable as
`.proto` for anything this layer does not carry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import orjson
from google.protobuf.timestamp_pb2 import Timestamp
from gopher.v1 import job_pb2, job_service_pb2

from gopher_client._enums import GroupState, JobState, Priority, group_state, job_state, priority


def _time(ts: Timestamp) -> dt.datetime | None:
    if ts.seconds == 0 and ts.nanos == 0:
        return None
    return ts.ToDatetime(tzinfo=dt.UTC)


def _json(text: str) -> Any:
    """Decoded JSON; None for empty. The broker stores results as workers send them, and a
    worker in another language may send plain text: that comes back as the text itself."""
    if not text:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


@dataclass(frozen=True)
class JobError:
    """One failed attempt: what was raised, where, and its traceback."""

    attempt: int
    error_type: str
    message: str
    traceback: str
    worker_id: str
    time: dt.datetime | None

    @classmethod
    def from_proto(cls, error: job_pb2.JobError) -> JobError:
        """The typed view of a contract `JobError`."""
        return cls(
            error.attempt,
            error.error_type,
            error.message,
            error.traceback,
            error.worker_id,
            _time(error.time),
        )

    def __str__(self) -> str:
        return f"{self.error_type}: {self.message}" if self.error_type else self.message


@dataclass(frozen=True)
class Transition:
    """One step of a job's history, from one state to the next."""

    time: dt.datetime | None
    from_state: JobState
    to_state: JobState
    attempt: int
    worker_id: str
    error: str

    @classmethod
    def from_proto(cls, event: job_pb2.JobEvent) -> Transition:
        """The typed view of a contract `JobEvent`."""
        return cls(
            _time(event.time),
            job_state(event.from_state),
            job_state(event.to_state),
            event.attempt,
            event.worker_id,
            event.error,
        )


@dataclass(frozen=True)
class Job:
    """A job's record as the broker last reported it.

    `state` and `priority` are enums whose `str()` is the word (`succeeded`); `payload`
    and `result` are the decoded JSON values (`result` is None until the job succeeds);
    `errors` lists every failed attempt, oldest first; `history` every transition, in
    order (empty when the call did not ask for it).
    """

    id: str
    type: str
    state: JobState
    priority: Priority
    payload: Any
    result: Any
    attempt: int
    retries: int
    created_at: dt.datetime | None
    run_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    worker_id: str
    errors: list[JobError]
    history: list[Transition]
    payload_json: str = ""  # the JSON texts `payload` and `result` were decoded from
    result_json: str = ""
    idempotency_key: str = ""
    timeout_s: float = 0.0
    lease_ttl_s: float = 0.0
    trace_context: dict[str, str] = field(default_factory=dict)
    parent_id: str = ""
    follow_up_ids: list[str] = field(default_factory=list)
    group_id: str = ""
    parent_group_id: str = ""
    proto: job_pb2.Job = field(default_factory=job_pb2.Job, repr=False, compare=False)

    @property
    def is_final(self) -> bool:
        """True once the job succeeded, died or was cancelled."""
        return self.state.is_final

    @property
    def last_error(self) -> JobError | None:
        """The most recent failed attempt, if any."""
        return self.errors[-1] if self.errors else None

    @classmethod
    def from_proto(cls, job: job_pb2.Job) -> Job:
        """The typed view of a contract `Job`."""
        return cls(
            id=job.id,
            type=job.type,
            state=job_state(job.state),
            priority=priority(job.priority),
            payload=_json(job.payload_json),
            result=_json(job.result_json),
            attempt=job.attempt,
            retries=job.retries,
            created_at=_time(job.created_at),
            run_at=_time(job.run_at),
            started_at=_time(job.started_at),
            finished_at=_time(job.finished_at),
            worker_id=job.worker_id,
            errors=[JobError.from_proto(e) for e in job.errors],
            history=[Transition.from_proto(e) for e in job.events],
            payload_json=job.payload_json,
            result_json=job.result_json,
            idempotency_key=job.idempotency_key,
            timeout_s=job.timeout_s,
            lease_ttl_s=job.lease_ttl_s,
            trace_context=dict(job.trace_context),
            parent_id=job.parent_id,
            follow_up_ids=list(job.follow_up_ids),
            group_id=job.group_id,
            parent_group_id=job.parent_group_id,
            proto=job,
        )


@dataclass(frozen=True)
class JobPage:
    """One page of `list_jobs`: the jobs, and the token of the next page ("" at the end)."""

    jobs: list[Job]
    next_page_token: str


@dataclass(frozen=True)
class Group:
    """A group as the broker last reported it: its state, how many members are in each
    state (`counts`), the member ids in submission order, and the ids of the follow-ups
    its outcome submitted (empty until every member is final)."""

    id: str
    state: GroupState
    member_ids: list[str]
    counts: dict[JobState, int]
    follow_up_ids: list[str]
    created_at: dt.datetime | None
    finished_at: dt.datetime | None
    idempotency_key: str = ""
    proto: job_pb2.Group = field(default_factory=job_pb2.Group, repr=False, compare=False)

    @property
    def is_final(self) -> bool:
        """True once every member is final and the follow-ups were submitted."""
        return self.state not in (GroupState.RUNNING, GroupState.UNSPECIFIED)

    @classmethod
    def from_proto(cls, group: job_pb2.Group) -> Group:
        """The typed view of a contract `Group`."""
        return cls(
            id=group.id,
            state=group_state(group.state),
            member_ids=list(group.member_ids),
            counts={job_state(c.state): c.count for c in group.counts},
            follow_up_ids=list(group.follow_up_ids),
            created_at=_time(group.created_at),
            finished_at=_time(group.finished_at),
            idempotency_key=group.idempotency_key,
            proto=group,
        )


@dataclass(frozen=True)
class Submission:
    """The broker's answer to one submit: the job's id and state, whether an idempotency
    key matched an earlier job (`duplicate`: `job_id` is that job), and any warnings."""

    job_id: str
    state: JobState
    duplicate: bool
    warnings: list[str]
    proto: job_service_pb2.SubmitJobResponse = field(
        default_factory=job_service_pb2.SubmitJobResponse, repr=False, compare=False
    )

    @classmethod
    def from_proto(cls, response: job_service_pb2.SubmitJobResponse) -> Submission:
        """The typed view of a contract `SubmitJobResponse`."""
        return cls(
            job_id=response.job_id,
            state=job_state(response.status),
            duplicate=response.duplicate,
            warnings=list(response.warnings),
            proto=response,
        )


@dataclass(frozen=True)
class GroupSubmission:
    """The broker's answer to a group submit: the group's id and its members' answers in
    the order given (`job_ids` for just the ids)."""

    group_id: str
    members: list[Submission]
    duplicate: bool
    warnings: list[str]
    proto: job_service_pb2.SubmitGroupResponse = field(
        default_factory=job_service_pb2.SubmitGroupResponse, repr=False, compare=False
    )

    @property
    def job_ids(self) -> list[str]:
        """The members' ids, in the order they were given."""
        return [member.job_id for member in self.members]

    @classmethod
    def from_proto(cls, response: job_service_pb2.SubmitGroupResponse) -> GroupSubmission:
        """The typed view of a contract `SubmitGroupResponse`."""
        return cls(
            group_id=response.group_id,
            members=[Submission.from_proto(m) for m in response.members],
            duplicate=response.duplicate,
            warnings=list(response.warnings),
            proto=response,
        )
