"""From a job's final record to what `result()` returns or raises."""

from __future__ import annotations

from typing import Any

from gopher_client._enums import JobState
from gopher_client._errors import JobCancelled, JobFailed
from gopher_client._models import Job


def outcome(job: Job) -> Any:
    """The decoded result of a succeeded job; raises JobFailed for a dead one and
    JobCancelled for a cancelled one. `job` must be final."""
    if job.state == JobState.SUCCEEDED:
        return job.result
    if job.state == JobState.CANCELLED:
        raise JobCancelled(job)
    raise JobFailed(job)
