"""Job states and priorities as Python enums.

Their values are the contract's enum numbers (`gopher.v1.JobState`, `gopher.v1.Priority`),
so a member compares equal to the raw protobuf value; `str()` gives the word the REST
API and gopherctl use (`succeeded`, `high`). tests/client/test_models.py checks that
every contract value has its member.
"""

from __future__ import annotations

import enum

from gopher.v1 import job_pb2


class JobState(enum.IntEnum):
    """Where a job is in its lifecycle."""

    UNSPECIFIED = job_pb2.JOB_STATE_UNSPECIFIED
    SCHEDULED = job_pb2.JOB_STATE_SCHEDULED
    ENQUEUED = job_pb2.JOB_STATE_ENQUEUED
    ACTIVE = job_pb2.JOB_STATE_ACTIVE
    RETRYING = job_pb2.JOB_STATE_RETRYING
    SUCCEEDED = job_pb2.JOB_STATE_SUCCEEDED
    DEAD = job_pb2.JOB_STATE_DEAD
    CANCELLED = job_pb2.JOB_STATE_CANCELLED

    def __str__(self) -> str:
        return self.name.lower()

    @property
    def is_final(self) -> bool:
        """True for succeeded, dead and cancelled: nothing happens to the job any more."""
        return self in (JobState.SUCCEEDED, JobState.DEAD, JobState.CANCELLED)


class Priority(enum.IntEnum):
    """Which queue a job waits in; dispatch weighs them 3:2:1 by default."""

    UNSPECIFIED = job_pb2.PRIORITY_UNSPECIFIED
    HIGH = job_pb2.PRIORITY_HIGH
    NORMAL = job_pb2.PRIORITY_NORMAL
    LOW = job_pb2.PRIORITY_LOW

    def __str__(self) -> str:
        return self.name.lower()


class GroupState(enum.IntEnum):
    """A group's outcome: running until every member is final."""

    UNSPECIFIED = job_pb2.GROUP_STATE_UNSPECIFIED
    RUNNING = job_pb2.GROUP_STATE_RUNNING
    SUCCEEDED = job_pb2.GROUP_STATE_SUCCEEDED
    FAILED = job_pb2.GROUP_STATE_FAILED
    CANCELLED = job_pb2.GROUP_STATE_CANCELLED

    def __str__(self) -> str:
        return self.name.lower()


def job_state(value: int) -> JobState:
    """The member for a contract value; values a newer broker may add map to UNSPECIFIED."""
    try:
        return JobState(value)
    except ValueError:
        return JobState.UNSPECIFIED


def priority(value: int) -> Priority:
    """The member for a contract value (UNSPECIFIED for one this SDK does not know)."""
    try:
        return Priority(value)
    except ValueError:
        return Priority.UNSPECIFIED


def group_state(value: int) -> GroupState:
    """The member for a contract value (UNSPECIFIED for one this SDK does not know)."""
    try:
        return GroupState(value)
    except ValueError:
        return GroupState.UNSPECIFIED
