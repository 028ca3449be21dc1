"""The one place where domain errors become gRPC statuses (with BadRequest details)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import grpc
import redis.exceptions
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from gopher_server import errors

log = logging.getLogger(__name__)

_CODES: dict[type[errors.GopherServerError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.TooLarge: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.StaleLease: grpc.StatusCode.FAILED_PRECONDITION,
    errors.WrongState: grpc.StatusCode.FAILED_PRECONDITION,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}


def to_status(error: errors.GopherServerError) -> grpc.Status:
    """A rich gRPC status for a domain error; the field goes in a BadRequest detail."""
    return rpc_status.to_status(status_proto(error))


def status_proto(error: errors.GopherServerError) -> status_pb2.Status:
    """The google.rpc.Status of `to_status`, as a message (a stream answer carries it)."""
    code = _CODES.get(type(error), grpc.StatusCode.INTERNAL)
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=error.message)
    if error.field:
        detail = any_pb2.Any()
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=error.field, description=error.message
        )
        detail.Pack(error_details_pb2.BadRequest(field_violations=[violation]))
        status.details.append(detail)
    return status


async def abort(
    context: grpc.aio.ServicerContext[Any, Any], error: errors.GopherServerError
) -> NoReturn:
    """End the call with the status for `error`."""
    await context.abort_with_status(to_status(error))  # type: ignore[attr-defined]  # missing from grpc-stubs
    raise AssertionError("unreachable")  # abort_with_status always raises


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def unary(handler: F) -> F:
    """Decorate a unary servicer method: domain errors and Redis outages become
    statuses, so handlers stay "proto in, domain call, proto out"."""

    @functools.wraps(handler)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            return await handler(self, request, context)
        except errors.GopherServerError as error:
            await abort(context, error)
        # CLUSTERDOWN: a Redis Cluster shard is failing over (the command did not run).
        except (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            redis.exceptions.ClusterDownError,
        ) as exc:
            log.warning("redis unavailable during %s: %s", handler.__name__, exc)
            await abort(context, errors.Unavailable(f"redis unavailable: {exc}"))

    return wrapper  # type: ignore[return-value]
