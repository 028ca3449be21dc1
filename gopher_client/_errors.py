"""Errors raised by the Gopher client SDK.

GopherError
 ├── ConnectionFailed        the broker could not be reached (UNAVAILABLE, DEADLINE_EXCEEDED)
 └── RequestError            the broker answered with an error status
      ├── InvalidArgument    bad input; `field` names the offending field (INVALID_ARGUMENT)
      ├── NotFound           no such job, schedule or worker (NOT_FOUND)
      ├── StaleLease         the lease token is stale or unknown (FAILED_PRECONDITION)
      ├── LimitExceeded      payload, batch or rate limit exceeded (RESOURCE_EXHAUSTED)
      ├── Unauthenticated    missing or wrong token (UNAUTHENTICATED)
      └── PermissionDenied   the token's role does not allow the call (PERMISSION_DENIED)
 ├── JobFailed               `result()`: the job died; `.error` is its last error
 ├── JobCancelled            `result()`: the job was cancelled
 └── WaitTimeout             `result()`: not final in time (also a TimeoutError)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

if TYPE_CHECKING:
    from gopher_client._models import Job, JobError


class GopherError(Exception):
    """Base of every error the SDK raises."""


class ConnectionFailed(GopherError):
    """The broker could not be reached or did not answer in time."""


class RequestError(GopherError):
    """The broker refused the request.

    `code` is the gRPC status code, `field` the request field at fault (empty if none).
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        field: str = "",
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.retry_after_s = retry_after_s  # from a RetryInfo detail: when to try again


class InvalidArgument(RequestError):
    """The request was malformed; `field` says which field."""


class NotFound(RequestError):
    """The named job, schedule or worker does not exist."""


class StaleLease(RequestError):
    """The lease token is stale or unknown: another delivery owns the job now."""


class LimitExceeded(RequestError):
    """A size, batch or rate limit was exceeded."""


class Unauthenticated(RequestError):
    """The call carried no valid token."""


class PermissionDenied(RequestError):
    """The token's role does not allow this call."""


class JobFailed(GopherError):
    """The job died (retries exhausted, or a permanent error): `job` is its final
    record, `error` its last error (None if it died without one, e.g. on a timeout)."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.error: JobError | None = job.last_error
        reason = str(self.error) if self.error is not None else "no error recorded"
        super().__init__(f"job {job.id} ({job.type}) died after {job.attempt} attempt(s): {reason}")


class JobCancelled(GopherError):
    """The job was cancelled before it succeeded; `job` is its final record."""

    def __init__(self, job: Job) -> None:
        self.job = job
        super().__init__(f"job {job.id} ({job.type}) was cancelled")


class WaitTimeout(GopherError, TimeoutError):
    """The job was not final when the wait ran out; `job_id` names it."""

    def __init__(self, job_id: str, timeout_s: float) -> None:
        self.job_id = job_id
        self.timeout_s = timeout_s
        super().__init__(f"job {job_id} was not final after {timeout_s:g}s")


_BY_CODE: dict[grpc.StatusCode, type[RequestError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.FAILED_PRECONDITION: StaleLease,
    grpc.StatusCode.RESOURCE_EXHAUSTED: LimitExceeded,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
}

_CONNECTION_CODES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


def details_of(error: grpc.RpcError) -> tuple[str, float | None]:
    """The first field named in a BadRequest detail of `error` ('' if none), and the
    delay of a RetryInfo detail in seconds (None if none)."""
    try:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
    except Exception:  # a status without parseable details is still a status
        return "", None
    return status_details(status)


def status_details(status: status_pb2.Status | None) -> tuple[str, float | None]:
    """`details_of` for a google.rpc.Status message."""
    field, retry_after = "", None
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR) and not field:  # type: ignore[arg-type]  # upb stubs
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            field = next((str(v.field) for v in bad.field_violations), "")
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):  # type: ignore[arg-type]
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            retry_after = info.retry_delay.ToTimedelta().total_seconds()
    return field, retry_after


def field_of(error: grpc.RpcError) -> str:
    """Return the first field named in a BadRequest detail of `error`, or ''."""
    return details_of(error)[0]


def from_rpc_error(error: grpc.RpcError) -> GopherError:
    """Translate a gRPC error into the SDK's exception tree."""
    code: grpc.StatusCode = error.code()
    message: str = error.details() or code.name
    if code in _CONNECTION_CODES:
        return ConnectionFailed(f"{code.name}: {message}")
    cls = _BY_CODE.get(code, RequestError)
    field, retry_after = details_of(error)
    return cls(code, message, field, retry_after)


_CODE_BY_VALUE = {code.value[0]: code for code in grpc.StatusCode}


def from_status(status: status_pb2.Status) -> GopherError:
    """Translate a google.rpc.Status (a SubmitJobStream answer's error) into the SDK's
    exception tree, exactly as `from_rpc_error` does for a call ending with it."""
    code = _CODE_BY_VALUE.get(status.code, grpc.StatusCode.UNKNOWN)
    message = status.message or code.name
    if code in _CONNECTION_CODES:
        return ConnectionFailed(f"{code.name}: {message}")
    field, retry_after = status_details(status)
    return _BY_CODE.get(code, RequestError)(code, message, field, retry_after)
