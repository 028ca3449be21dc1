"""REST errors: one JSON body shape and the one table from gRPC status to HTTP status.

RestError                      an HTTP error answer, raised by the shim and the mapping below
 ├── from_gopher_error(...)    what the broker (or the channel to it) refused, mapped
 └── raised directly           malformed JSON, unknown fields, 404/405/413/415 of the shim

Every error answers `{"error": {"code": "...", "message": "...", "field": ...}}`: `code` is
the lowercase gRPC status name (or, for errors of HTTP itself, a lowercase HTTP reason such
as "method_not_allowed"); `field` is the REST name of the field at fault, or null.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from starlette.responses import JSONResponse

from gopher_client import ConnectionFailed, GopherError, RequestError
from gopher_server.rest._naming import rest_field_path

# gRPC status name -> HTTP status. Names absent here answer 500.
HTTP_STATUS_BY_GRPC_CODE: dict[str, int] = {
    "INVALID_ARGUMENT": 400,
    "NOT_FOUND": 404,
    "FAILED_PRECONDITION": 409,
    "RESOURCE_EXHAUSTED": 429,  # except payload size: see PAYLOAD_TOO_LARGE_FIELDS
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
# A RESOURCE_EXHAUSTED naming one of these fields is a body that is too big, not a rate.
PAYLOAD_TOO_LARGE_FIELDS = frozenset({"payload", "result", "trace_context", "jobs"})


class RestError(Exception):
    """An error answer: HTTP status, error code word, message and optional field."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field or None
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        """Render the error as its JSON response."""
        body = {"error": {"code": self.code, "message": self.message, "field": self.field}}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def invalid(field: str | None, message: str) -> RestError:
    """A 400 for bad input, naming the field at fault (None when it is the whole body)."""
    return RestError(400, "invalid_argument", message, field)


def from_gopher_error(error: GopherError) -> RestError:
    """Map an error raised by `AsyncClient.call` to its HTTP answer."""
    if isinstance(error, RequestError):
        name = error.code.name
        field = rest_field_path(error.field)
        status = HTTP_STATUS_BY_GRPC_CODE.get(name, 500)
        if name == "RESOURCE_EXHAUSTED" and field.rsplit(".", 1)[-1] in PAYLOAD_TOO_LARGE_FIELDS:
            status = 413
        headers = {}
        if error.retry_after_s is not None:  # a rate limit said when to come back
            headers["Retry-After"] = str(max(1, math.ceil(error.retry_after_s)))
        return RestError(status, name.lower(), error.message, field, headers=headers or None)
    if isinstance(error, ConnectionFailed):
        # The SDK folds both codes into ConnectionFailed("CODE: detail"); the prefix tells
        # a broker that is down (503) from one that did not answer in time (504).
        message = str(error)
        if message.startswith("DEADLINE_EXCEEDED"):
            return RestError(504, "deadline_exceeded", message)
        return RestError(503, "unavailable", message)
    return RestError(500, "internal", str(error) or type(error).__name__)
