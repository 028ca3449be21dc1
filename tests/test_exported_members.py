"""The public Python API is what `__all__` exports; this pins it so changes are deliberate."""

from __future__ import annotations

import gopher_client
import gopher_worker


def test_client_sdk_exports() -> None:
    assert sorted(gopher_client.__all__) == sorted(
        [
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
    )
    assert all(hasattr(gopher_client, name) for name in gopher_client.__all__)


def test_worker_sdk_exports() -> None:
    assert sorted(gopher_worker.__all__) == sorted(
        [
            "Backoff",
            "BreakerPolicy",
            "Handler",
            "Job",
            "JobHook",
            "PermanentError",
            "Registry",
            "RetryAfter",
            "Worker",
        ]
    )
    assert all(hasattr(gopher_worker, name) for name in gopher_worker.__all__)
