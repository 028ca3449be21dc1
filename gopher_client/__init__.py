"""Gopher client SDK: submit and inspect jobs, and operate the broker, over gRPC.

    from gopher_client import Client
    job_id = Client("127.0.0.1:50051").submit_job("email", {"to": "a@b.c"}, priority="high")

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
from gopher_client._errors import (
    ConnectionFailed,
    GopherError,
    InvalidArgument,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    RequestError,
    StaleLease,
    Unauthenticated,
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
    "InvalidArgument",
    "LimitExceeded",
    "NotFound",
    "PermissionDenied",
    "RequestError",
    "StaleLease",
    "Unauthenticated",
    "group_request",
    "is_final",
    "priority_value",
    "state_value",
    "submit_request",
]
