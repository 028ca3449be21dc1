"""Domain errors raised by validation and the services; mapped to gRPC in `status.py`.

GopherServerError
 ├── InvalidArgument   bad input; names the field          -> INVALID_ARGUMENT
 ├── TooLarge          payload or batch over its limit      -> RESOURCE_EXHAUSTED
 ├── NotFound          no such job, schedule or worker      -> NOT_FOUND
 ├── StaleLease        lease token stale or unknown         -> FAILED_PRECONDITION
 ├── WrongState        job not in a state the call acts on  -> FAILED_PRECONDITION
 └── Unavailable       Redis unreachable                    -> UNAVAILABLE
"""

from __future__ import annotations


class GopherServerError(Exception):
    """Base of domain errors. `field` names the request field at fault, if any."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidArgument(GopherServerError):
    """The request is malformed; nothing was written."""


class TooLarge(GopherServerError):
    """A size or count limit was exceeded; nothing was written."""


class NotFound(GopherServerError):
    """The named object does not exist."""


class StaleLease(GopherServerError):
    """The lease token does not match the job's current lease."""


class WrongState(GopherServerError):
    """The job exists but is not in a state the call acts on; nothing was written."""


class Unavailable(GopherServerError):
    """A dependency (Redis) cannot be reached; retry later."""
