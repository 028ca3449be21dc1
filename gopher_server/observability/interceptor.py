"""gRPC server interceptor counting calls and their latency per method and status."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import grpc

from gopher_server.observability.metrics import BrokerMetrics

# Generic only in the type stubs, so the alias must stay a string at runtime.
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


if TYPE_CHECKING:
    _Base = grpc.aio.ServerInterceptor[Any, Any]
else:
    _Base = grpc.aio.ServerInterceptor


class MetricsInterceptor(_Base):
    """Wraps unary and server-streaming handlers; other kinds pass through."""

    def __init__(self, metrics: BrokerMetrics) -> None:
        self.metrics = metrics
        # method -> (inner handler, wrapped handler): the inner handlers are the same
        # objects call after call, so each is wrapped once, not on every call.
        self._wrapped: dict[str, tuple[Handler, Handler]] = {}
        self._children: dict[tuple[str, str], tuple[Any, Any]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler]],
        details: grpc.HandlerCallDetails,
    ) -> Handler:
        handler = await continuation(details)
        if handler is None:
            return handler
        cached = self._wrapped.get(details.method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(details.method.rsplit("/", 1)[-1], handler)
        self._wrapped[details.method] = (handler, wrapped)
        return wrapped

    def _wrap(self, method: str, handler: Handler) -> Handler:
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(method, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    def _record(self, method: str, started: float, code: str) -> None:
        # labels() costs a lock and a tuple lookup per call; the children never change.
        children = self._children.get((method, code))
        if children is None:
            m = self.metrics
            children = (m.rpc_requests.labels(method, code), m.rpc_latency.labels(method))
            self._children[(method, code)] = children
        children[0].inc()
        children[1].observe(time.perf_counter() - started)

    def _unary(self, method: str, behavior: Any) -> Any:
        async def wrapper(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            started = time.perf_counter()
            try:
                response = await behavior(request, context)
            except BaseException as error:
                self._record(method, started, _status(context, error))
                raise
            self._record(method, started, _status(context, None))
            return response

        return wrapper

    def _stream(self, method: str, behavior: Any) -> Any:
        async def wrapper(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            started = time.perf_counter()
            try:
                async for response in behavior(request, context):
                    yield response
            except BaseException as error:
                self._record(method, started, _status(context, error))
                raise
            self._record(method, started, _status(context, None))

        return wrapper


def _status(context: grpc.aio.ServicerContext[Any, Any], error: BaseException | None) -> str:
    """The status name a call ended with."""
    if isinstance(error, asyncio.CancelledError):
        return "CANCELLED"
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code.name
    if error is not None:
        return "UNKNOWN"
    return "OK"
