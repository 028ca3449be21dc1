"""The broker's one guard at the door: a gRPC server interceptor that authenticates
the bearer token, checks its role, rate-limits submits per token, and turns requests
that do not decode into INVALID_ARGUMENT (instead of grpc's UNKNOWN)."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from prometheus_client import CollectorRegistry, Counter

from gopher_server.auth.rate import SubmitRateLimiter, caller
from gopher_server.auth.tokens import OPEN_SERVICES, TokenTable, bearer_token

log = logging.getLogger(__name__)

# Generic only in the type stubs, so these stay strings (or plain classes) at runtime.
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
if TYPE_CHECKING:
    _Base = grpc.aio.ServerInterceptor[Any, Any]
else:
    _Base = grpc.aio.ServerInterceptor

SUBMIT_METHODS = frozenset({"/gopher.v1.JobService/SubmitJob", "/gopher.v1.JobService/SubmitJobs"})
# SubmitJobStream is not among them: its handler takes a token per message (`caller`).
# Methods of the Gopher contract (not health or reflection) start with this.
OWN = "/gopher."
# Auth failures are logged at most once per reason in this window (with a count of the
# rest), so a flood of bad calls cannot flood the log too.
LOG_EVERY_S = 10.0
_REFUSALS = {
    "missing": "a bearer token is required (authorization: Bearer <token>)",
    "malformed": "the authorization header must be one 'Bearer <token>'",
    "invalid": "the bearer token is not valid",
}


class _Undecodable:
    """Stands in for a request whose bytes did not parse, so the call can be refused."""

    def __init__(self, error: Exception) -> None:
        self.error = error


class UndecodableRequest(Exception):
    """Raised into a reader/writer handler's request iterator for a request that did not
    decode. The handler finishes the answers it is writing and lets it propagate; the
    interceptor then ends the call. Aborting from inside the iterator instead would race
    a write in flight (grpc takes one operation at a time: TOO_MANY_OPERATIONS)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(f"the request does not decode: {error}")


def _status(code: grpc.StatusCode, message: str, *details: Any) -> grpc.Status:
    return rpc_status.to_status(_status_proto(code, message, *details))


def _status_proto(code: grpc.StatusCode, message: str, *details: Any) -> status_pb2.Status:
    packed = []
    for detail in details:
        item = any_pb2.Any()
        item.Pack(detail)
        packed.append(item)
    return status_pb2.Status(code=getattr(code_pb2, code.name), message=message, details=packed)


def retry_status(wait_s: float, who: str) -> grpc.Status:
    """RESOURCE_EXHAUSTED with a google.rpc.RetryInfo detail saying when to come back."""
    return rpc_status.to_status(retry_status_proto(wait_s, who))


def retry_status_proto(wait_s: float, who: str) -> status_pb2.Status:
    """The google.rpc.Status of `retry_status`, as a message (a stream answer carries it)."""
    delay = duration_pb2.Duration()
    delay.FromNanoseconds(max(1, int(wait_s * 1e9)))
    return _status_proto(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        f"submit rate limit of {who} exceeded; retry in {wait_s:.3f}s",
        error_details_pb2.RetryInfo(retry_delay=delay),
    )


def _handler_like(handler: Handler, behavior: Any, deserializer: Any) -> Handler:
    """A handler of the same kind as `handler` with another behavior and deserializer."""
    kinds = (
        ("unary_unary", grpc.unary_unary_rpc_method_handler),
        ("unary_stream", grpc.unary_stream_rpc_method_handler),
        ("stream_unary", grpc.stream_unary_rpc_method_handler),
        ("stream_stream", grpc.stream_stream_rpc_method_handler),
    )
    for kind, make in kinds:
        if getattr(handler, kind) is not None:
            return make(
                behavior,
                request_deserializer=deserializer,
                response_serializer=handler.response_serializer,
            )
    raise ValueError("a handler of no known kind")


def _refusal(
    handler: Handler, status: grpc.Status, on_refuse: Callable[[Context], None]
) -> Handler:
    """A handler that ends the call with `status` without reading the request."""
    streams = handler.response_streaming

    async def refuse(request: Any, context: Context) -> Any:
        on_refuse(context)
        await context.abort_with_status(status)  # type: ignore[attr-defined]  # missing from grpc-stubs

    async def refuse_stream(request: Any, context: Context) -> AsyncIterator[Any]:
        await refuse(request, context)
        yield  # unreachable: makes this an async generator, as grpc expects for streams

    return _handler_like(handler, refuse_stream if streams else refuse, lambda raw: None)


def _decode_guarded(handler: Handler, method: str) -> Handler:
    """The handler, refusing undecodable requests with INVALID_ARGUMENT. Of the handlers
    that take a request stream only Gopher's own (SubmitJobStream) are guarded, a
    message at a time; reflection's are returned as they are."""
    # The stubs type behaviors for the sync server; on grpc.aio they are coroutines.
    behavior: Any = handler.unary_unary or handler.unary_stream
    parse = handler.request_deserializer
    if behavior is None and handler.stream_stream is not None and method.startswith(OWN):
        behavior = handler.stream_stream
        guard_stream = True
    elif behavior is None or parse is None:
        return handler
    else:
        guard_stream = False
    assert parse is not None

    def deserialize(raw: bytes) -> Any:
        try:
            return parse(raw)
        except Exception as exc:  # any parse failure is the caller's fault
            return _Undecodable(exc)

    async def check(request: Any, context: Context) -> None:
        if isinstance(request, _Undecodable):
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"the request does not decode: {request.error}"
            )

    async def unary(request: Any, context: Context) -> Any:
        await check(request, context)
        return await behavior(request, context)

    async def stream(request: Any, context: Context) -> AsyncIterator[Any]:
        await check(request, context)
        async for response in behavior(request, context):
            yield response

    async def raising(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for request in requests:
            if isinstance(request, _Undecodable):  # no coroutine per message otherwise
                raise UndecodableRequest(request.error)
            yield request

    # A streaming handler sees a request that did not decode as UndecodableRequest from
    # its iterator; the call is ended here, once the handler is out of it and (for a
    # reader/writer handler writing from its own tasks) no write is in flight.
    async def bidi(requests: AsyncIterator[Any], context: Context) -> AsyncIterator[Any]:
        try:
            async for response in behavior(raising(requests), context):
                yield response
        except UndecodableRequest as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))

    async def bidi_writer(requests: AsyncIterator[Any], context: Context) -> None:
        try:
            await behavior(raising(requests), context)
        except UndecodableRequest as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))

    # grpc runs a streaming behavior as an async generator only if it is one; a
    # coroutine streams through context.write.
    if guard_stream:
        guarded: Any = bidi if inspect.isasyncgenfunction(behavior) else bidi_writer
    else:
        guarded = stream if inspect.isasyncgenfunction(behavior) else unary
    return _handler_like(handler, guarded, deserialize)


class AuthInterceptor(_Base):
    """Authenticates, authorizes and rate-limits every call; see the module docstring.

    `tokens` None means auth is off (every caller is "anonymous"); `limiter` None means
    no submit rate limit. `gopher_auth_failures_total{reason}` counts refusals, with
    reason one of missing, malformed, invalid (token) and forbidden (role).
    """

    def __init__(
        self,
        tokens: TokenTable | None,
        limiter: SubmitRateLimiter | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.tokens = tokens
        self.limiter = limiter
        self.failures = Counter(
            "gopher_auth_failures",
            "Calls refused for a missing, malformed or invalid token, or a role",
            ["reason"],
            registry=registry,
        )
        self._guarded: dict[str, tuple[Handler, Handler]] = {}
        self._logged: dict[str, tuple[float, int]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler]],
        details: grpc.HandlerCallDetails,
    ) -> Handler:
        handler = await continuation(details)
        if handler is None:  # unknown method: grpc answers UNIMPLEMENTED
            return handler
        method = details.method
        guarded = self._guard(method, handler)
        service, _, method_name = method.lstrip("/").partition("/")
        if service in OPEN_SERVICES:
            return guarded
        identity = "anonymous"
        if self.tokens is not None:
            token, reason = bearer_token(details.invocation_metadata)
            entry = self.tokens.lookup(token) if token is not None else None
            if entry is None:
                reason = reason or "invalid"
                status = _status(grpc.StatusCode.UNAUTHENTICATED, _REFUSALS[reason])
                return self._deny(handler, status, reason, method, "")
            if not entry.allows(service, method_name):
                roles = ",".join(sorted(entry.roles))
                message = f"token {entry.name!r} (role {roles}) may not call {service}"
                status = _status(grpc.StatusCode.PERMISSION_DENIED, message)
                return self._deny(handler, status, "forbidden", method, entry.name)
            identity = entry.name
        # grpc.aio runs the handler in this call's task, so it sees the identity.
        caller.set(identity)
        if self.limiter is not None and method in SUBMIT_METHODS:
            wait_s = self.limiter.take(identity)
            if wait_s > 0:
                return _refusal(handler, retry_status(wait_s, identity), lambda _: None)
        return guarded

    def _guard(self, method: str, handler: Handler) -> Handler:
        cached = self._guarded.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        guarded = _decode_guarded(handler, method)
        self._guarded[method] = (handler, guarded)
        return guarded

    def _deny(
        self, handler: Handler, status: grpc.Status, reason: str, method: str, name: str
    ) -> Handler:
        self.failures.labels(reason).inc()

        def log_refusal(context: Context) -> None:
            # The peer is known only inside the call; the token itself is never logged.
            self._log(reason, method, name, context.peer())

        return _refusal(handler, status, log_refusal)

    def _log(self, reason: str, method: str, name: str, peer: str) -> None:
        now = time.monotonic()
        last_s, suppressed = self._logged.get(reason, (float("-inf"), 0))
        if now - last_s < LOG_EVERY_S:
            self._logged[reason] = (last_s, suppressed + 1)
            return
        self._logged[reason] = (now, 0)
        log.warning(
            "auth refused (%s): %s from %s%s%s",
            reason,
            method,
            peer,
            f" with token {name!r}" if name else "",
            f"; {suppressed} more refusal(s) of this kind not logged" if suppressed else "",
        )
