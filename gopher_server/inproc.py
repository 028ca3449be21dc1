"""The broker's services called in process: a channel for stubs that never leaves the loop.

The REST shim and the dashboard run in the broker's process, on the gRPC server's event
loop. Reaching the services through a loopback gRPC channel cost every REST call a
serialisation, an HTTP/2 round trip and a second trip through grpc's own machinery (as
much again as the call itself). `LocalChannel` keeps the one contract and the one door:

- stubs are built on it as on any channel (`JobServiceStub(channel)`), and `LocalClient`
  is the part of `AsyncClient` the shim uses (`channel`, `call`), with the same error
  translation (`from_rpc_error`) and the same deadline;
- a call looks its handler up among those the servicers registered, and runs it through
  the server's own interceptors, in the server's order (metrics, then auth with its
  token, role, rate-limit decisions and refusal counts; tracing's server span when
  tracing is on), with a `LocalContext` standing in for grpc's servicer context;
- a status the call ends with is raised as a `grpc.RpcError` carrying the same code,
  message and rich details a remote caller would read.

Messages are handed over as objects: nothing is serialised; a request over the gRPC
server's receive limit is refused as the server refuses it (the size is computed, not
the bytes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NamedTuple, NoReturn, TypeAlias, TypeVar

import grpc
from opentelemetry import trace

from gopher_client._channel import ChannelConfig
from gopher_client._errors import from_rpc_error

log = logging.getLogger(__name__)

Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
Interceptor: TypeAlias = "grpc.aio.ServerInterceptor[Any, Any]"
Metadata: TypeAlias = tuple[tuple[str, str | bytes], ...]
T = TypeVar("T")
# Who is calling, as grpc spells a peer ("ipv4:HOST:PORT"): set by the HTTP layer for
# the request it serves, for the auth refusal log and the server span's attributes.
CALLER_PEER: ContextVar[str] = ContextVar("gopher_caller_peer", default="unix:in-process")


class Metadatum(NamedTuple):
    """One metadata item as grpc hands it to servicers: a (key, value) pair that also
    has `.key` and `.value` (tracing's interceptor reads those)."""

    key: str
    value: str | bytes


class LocalRpcError(grpc.RpcError):
    """The status a local call ended with, read like a failed grpc.aio call."""

    def __init__(self, code: grpc.StatusCode, details: str, trailing: Metadata = ()) -> None:
        super().__init__(f"{code.name}: {details}")
        self._code = code
        self._details = details
        self._trailing = tuple(trailing)

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> Any:
        return self._trailing

    def initial_metadata(self) -> Any:
        return ()


class LocalContext:
    """What servicers and interceptors use of `grpc.aio.ServicerContext`.

    `abort` and `abort_with_status` record the status and raise it (grpc raises too: the
    metrics interceptor reads `code()` after the raise, as with grpc).
    """

    def __init__(self, metadata: Metadata, peer: str, deadline: float | None) -> None:
        self._metadata = tuple(Metadatum(key, value) for key, value in metadata)
        self._peer = peer
        self._deadline = deadline
        self._code: grpc.StatusCode | None = None
        self._details = ""
        self._trailing: Metadata = ()

    def invocation_metadata(self) -> Metadata:
        return self._metadata

    def peer(self) -> str:
        return self._peer

    def time_remaining(self) -> float | None:
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - asyncio.get_running_loop().time())

    def cancelled(self) -> bool:
        return False

    def done(self) -> bool:
        return False

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def details(self) -> str:
        return self._details

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code

    def set_details(self, details: str) -> None:
        self._details = details

    def set_trailing_metadata(self, trailing_metadata: Metadata) -> None:
        self._trailing = tuple(trailing_metadata)

    def trailing_metadata(self) -> Metadata:
        return self._trailing

    async def abort(
        self, code: grpc.StatusCode, details: str = "", trailing_metadata: Metadata = ()
    ) -> NoReturn:
        self._code, self._details = code, details
        raise LocalRpcError(code, details, tuple(trailing_metadata) or self._trailing)

    async def abort_with_status(self, status: grpc.Status) -> NoReturn:
        await self.abort(status.code, status.details, status.trailing_metadata)

    def error(self) -> LocalRpcError | None:
        """The status a handler set without aborting, as the error a caller sees."""
        if self._code is None or self._code == grpc.StatusCode.OK:
            return None
        return LocalRpcError(self._code, self._details, self._trailing)


@dataclass(frozen=True)
class _CallDetails:
    """`grpc.HandlerCallDetails` as grpc.aio hands it to interceptors."""

    method: str
    invocation_metadata: Metadata


class LocalServer:
    """Collects the handlers servicers register (`add_XServicer_to_server(s, local)`)."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}

    def add_generic_rpc_handlers(self, handlers: Sequence[Any]) -> None:
        """Ignored: the same handlers come through `add_registered_method_handlers`."""

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Handler]) -> None:
        for name, handler in handlers.items():
            self.handlers[f"/{service}/{name}"] = handler


def _tracing_interceptor() -> Interceptor | None:
    """The server-span interceptor gRPC gets when tracing is on, else None."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return None
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    interceptor: Interceptor = aio_server_interceptor()
    return interceptor


class LocalChannel:
    """A `grpc.aio.Channel` for unary calls to the services of `server`; see the module."""

    def __init__(
        self,
        server: LocalServer,
        interceptors: Sequence[Interceptor],
        max_receive_bytes: int | None = None,
    ) -> None:
        self._server = server
        self._max_receive_bytes = max_receive_bytes
        tracing = _tracing_interceptor()
        # grpc's instrumentation puts its interceptor first; so does this.
        self._interceptors = [tracing, *interceptors] if tracing else list(interceptors)

    def unary_unary(
        self,
        method: str,
        request_serializer: Any = None,
        response_deserializer: Any = None,
        _registered_method: bool = False,
    ) -> Callable[..., Awaitable[Any]]:
        async def call(
            request: Any,
            *,
            timeout: float | None = None,  # noqa: ASYNC109 -- the stub call's signature
            metadata: Sequence[tuple[str, str]] | None = None,
            **_: Any,
        ) -> Any:
            return await self.invoke(method, request, tuple(metadata or ()), timeout)

        return call

    def unary_stream(self, method: str, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return _streams_unsupported

    stream_unary = stream_stream = unary_stream

    async def _handler(self, details: _CallDetails) -> Handler | None:
        async def lookup(call: grpc.HandlerCallDetails) -> Handler | None:
            return self._server.handlers.get(call.method)

        continuation: Callable[[Any], Awaitable[Handler | None]] = lookup
        for interceptor in reversed(self._interceptors):
            continuation = _next(interceptor, continuation)
        return await continuation(details)

    async def invoke(
        self, method: str, request: Any, metadata: Metadata, timeout_s: float | None
    ) -> Any:
        """Run one unary call; raise LocalRpcError with the status it ended with."""
        limit = self._max_receive_bytes
        if limit is not None and (size := request.ByteSize()) > limit:
            # What the gRPC server answers before any interceptor sees the call.
            message = f"SERVER: Received message larger than max ({size} vs. {limit})"
            raise LocalRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, message)
        handler = await self._handler(_CallDetails(method, metadata))
        if handler is None or handler.unary_unary is None:
            raise LocalRpcError(grpc.StatusCode.UNIMPLEMENTED, "Method not found!")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s if timeout_s is not None else None
        context = LocalContext(metadata, CALLER_PEER.get(), deadline)
        behavior: Any = handler.unary_unary
        try:
            async with asyncio.timeout_at(deadline):
                response = await behavior(request, context)
        except LocalRpcError:
            raise
        except TimeoutError:
            raise LocalRpcError(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded") from None
        except Exception as exc:
            # grpc's answer to a handler that raised: UNKNOWN, naming the exception.
            log.exception("unexpected error in %s", method)
            raise LocalRpcError(grpc.StatusCode.UNKNOWN, f"Unexpected {type(exc)}: {exc}") from None
        error = context.error()
        if error is not None:
            raise error
        return response


def _streams_unsupported(*args: Any, **kwargs: Any) -> NoReturn:
    """Stubs name every RPC; streams are not carried in process (no route uses one)."""
    raise LocalRpcError(grpc.StatusCode.UNIMPLEMENTED, "streams are not served in process")


def _next(
    interceptor: Interceptor, continuation: Callable[[Any], Awaitable[Handler | None]]
) -> Callable[[Any], Awaitable[Handler | None]]:
    async def step(details: Any) -> Handler | None:
        handler: Handler | None = await interceptor.intercept_service(continuation, details)  # type: ignore[arg-type]
        return handler

    return step


class LocalClient:
    """The part of `AsyncClient` the REST shim and the dashboard use, over a LocalChannel.

    `config` supplies the deadline and any default token (the broker's HTTP port passes
    none: each request carries its caller's own Authorization).
    """

    def __init__(self, channel: LocalChannel, config: ChannelConfig) -> None:
        self.channel = channel
        self.config = config

    async def call(
        self, method: Callable[..., Awaitable[T]], request: Any, timeout_s: float | None = None
    ) -> T:
        """Invoke one unary stub method with auth metadata, translating errors."""
        try:
            return await method(
                request, metadata=self.config.metadata(), timeout=timeout_s or self.config.timeout_s
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    async def close(self) -> None:
        """Nothing to close: the channel holds no connection."""


def peer_of(client: tuple[str, int] | None) -> str:
    """A peer in grpc's spelling for an HTTP client address (host, port)."""
    if client is None:
        return CALLER_PEER.get()
    host, port = client
    return f"ipv6:[{host}]:{port}" if ":" in host else f"ipv4:{host}:{port}"
