"""Gopher client SDK: submit and inspect jobs, and operate the broker, over gRPC.

    from gopher_client import Client
    client = Client("127.0.0.1:50051")
    job_id = client.submit_job("email", {"to": "a@b.c"}, priority="high")
    print(client.result(job_id, timeout_s=30))   # the handler's return value, decoded

Jobs come back as `Job` (state and priority as enums whose str() is the word, payload
and result decoded, timestamps as aware datetimes; the raw message as `job.proto`).

`AsyncClient` is the asyncio twin. Errors are `GopherError` subclasses (see `_errors`).
"""

from gopher_client._async import AsyncClient
from gopher_client._channel import DEFAULT_SERVER, ChannelConfig
from gopher_client._convert import (
    FINAL_STATES,
    PRIORITY_NAMES,
    STATE_NAMES,
    group_request,
    priority_value,
    state_value,
    submit_request,
)
from gopher_client._enums import GroupState, JobState, Priority
from gopher_client._errors import (
    ConnectionFailed,
    GopherError,
    InvalidArgument,
    JobCancelled,
    JobFailed,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    RequestError,
    StaleLease,
    Unauthenticated,
    WaitTimeout,
)
from gopher_client._models import (
    Group,
    GroupSubmission,
    Job,
    JobError,
    JobPage,
    Submission,
    Transition,
)
from gopher_client._sync import Client, is_final

__all__ = [
    "DEFAULT_SERVER",
    "FINAL_STATES",
    "PRIORITY_NAMES",
    "STATE_NAMES",
    "AsyncClient",
    "ChannelConfig",
    "Client",
    "ConnectionFailed",
    "GopherError",
    "Group",
    "GroupState",
    "GroupSubmission",
    "InvalidArgument",
    "Job",
    "JobCancelled",
    "JobError",
    "JobFailed",
    "JobPage",
    "JobState",
    "LimitExceeded",
    "NotFound",
    "PermissionDenied",
    "Priority",
    "RequestError",
    "StaleLease",
    "Submission",
    "Transition",
    "Unauthenticated",
    "WaitTimeout",
    "group_request",
    "is_final",
    "priority_value",
    "state_value",
    "submit_request",
]
