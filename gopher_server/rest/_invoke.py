"""Calling the broker: the stub method of an RPC, with the caller's credentials."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from opentelemetry import context as otel_context
from opentelemetry import propagate

from gopher_server.rest._errors import RestError

Metadata = Sequence[tuple[str, str]]
T = TypeVar("T")
AUTHORIZATION = "authorization"
# W3C trace context headers the shim passes on to the broker.
TRACE_HEADERS = ("traceparent", "tracestate")


def _printable_ascii(text: str) -> bool:
    return text.isascii() and text.isprintable()


class Connection(Protocol):
    """What the shim needs of a broker connection: `gopher_client.AsyncClient`, or
    `gopher_server.inproc.LocalClient` in the broker's own process."""

    @property
    def channel(self) -> Any: ...

    async def call(
        self, method: Callable[..., Awaitable[T]], request: Any, timeout_s: float | None = None
    ) -> T: ...


class Invoker:
    """Runs unary RPCs through `AsyncClient.call` (or the in-process client's, which
    is the same), so the SDK's error mapping applies.

    Stubs are built lazily from the descriptors (`<Service>Stub` in the service's
    `*_pb2_grpc` module) on the client's channel, so no RPC is named here.
    """

    def __init__(self, client: Connection) -> None:
        self._client = client
        self._stubs: dict[str, Any] = {}

    def _stub(self, service: ServiceDescriptor) -> Any:
        stub = self._stubs.get(service.full_name)
        if stub is None:
            module_name = service.file.name.removesuffix(".proto").replace("/", ".") + "_pb2_grpc"
            module = importlib.import_module(module_name)
            stub = getattr(module, f"{service.name}Stub")(self._client.channel)
            self._stubs[service.full_name] = stub
        return stub

    async def invoke(
        self,
        method: MethodDescriptor,
        request: Message,
        authorization: str | None = None,
        trace_headers: dict[str, str] | None = None,
    ) -> Message:
        """Call `method` with `request`; an `authorization` value replaces the client's own.

        Without one, the client's configured token (if any) is sent. `trace_headers`
        (the caller's W3C `traceparent`/`tracestate`) go on as gRPC metadata, and are
        the parent of the call's client span when tracing is on, so jobs submitted over
        REST join the caller's trace. Raises a `gopher_client.GopherError` subclass when
        the broker refuses, and a 401 RestError for a header gRPC metadata cannot carry.
        """
        if authorization is not None and not _printable_ascii(authorization):
            raise RestError(401, "unauthenticated", "the Authorization header is malformed")
        trace = {k: v for k, v in (trace_headers or {}).items() if _printable_ascii(v)}
        stub_method = getattr(self._stub(method.containing_service), method.name)
        call = _with_metadata(stub_method, authorization, trace)
        if not trace:
            result: Message = await self._client.call(call, request)
            return result
        token = otel_context.attach(propagate.extract(trace))
        try:
            result = await self._client.call(call, request)
        finally:
            otel_context.detach(token)
        return result


def _with_metadata(
    stub_method: Callable[..., Awaitable[Message]],
    authorization: str | None,
    trace: dict[str, str],
) -> Callable[..., Awaitable[Message]]:
    """Wrap a stub method so the metadata `AsyncClient.call` passes carries
    `authorization` and the `trace` headers.

    The SDK sends its own metadata (its configured token); the REST caller's header, when
    given, must win, and this keeps the SDK untouched. With tracing on, the gRPC
    instrumentation replaces the trace headers by its client span's (a child of them).
    """
    if authorization is None and not trace:
        return stub_method
    added = dict(trace)
    if authorization is not None:
        added[AUTHORIZATION] = authorization

    async def call(request: Message, *, metadata: Metadata = (), **kwargs: Any) -> Message:
        forwarded = [(k, v) for k, v in metadata if k.lower() not in added]
        forwarded += added.items()
        return await stub_method(request, metadata=tuple(forwarded), **kwargs)

    return call
