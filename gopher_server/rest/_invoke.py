"""Calling the broker: the stub method of an RPC, with the caller's credentials."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message

from gopher_client import AsyncClient
from gopher_server.rest._errors import RestError

Metadata = Sequence[tuple[str, str]]
AUTHORIZATION = "authorization"


def _printable_ascii(text: str) -> bool:
    return text.isascii() and text.isprintable()


class Invoker:
    """Runs unary RPCs through `AsyncClient.call`, so the SDK's error mapping applies.

    Stubs are built lazily from the descriptors (`<Service>Stub` in the service's
    `*_pb2_grpc` module) on the client's channel, so no RPC is named here.
    """

    def __init__(self, client: AsyncClient) -> None:
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
        self, method: MethodDescriptor, request: Message, authorization: str | None = None
    ) -> Message:
        """Call `method` with `request`; an `authorization` value replaces the client's own.

        Without one, the client's configured token (if any) is sent. Raises a
        `gopher_client.GopherError` subclass when the broker refuses, and a 401 RestError
        for a header gRPC metadata cannot carry.
        """
        if authorization is not None and not _printable_ascii(authorization):
            raise RestError(401, "unauthenticated", "the Authorization header is malformed")
        stub_method = getattr(self._stub(method.containing_service), method.name)
        result: Message = await self._client.call(_with_auth(stub_method, authorization), request)
        return result


def _with_auth(
    stub_method: Callable[..., Awaitable[Message]], authorization: str | None
) -> Callable[..., Awaitable[Message]]:
    """Wrap a stub method so the metadata `AsyncClient.call` passes carries `authorization`.

    The SDK sends its own metadata (its configured token); the REST caller's header, when
    given, must win, and this keeps the SDK untouched.
    """
    if authorization is None:
        return stub_method

    async def call(request: Message, *, metadata: Metadata = (), **kwargs: Any) -> Message:
        forwarded = [(k, v) for k, v in metadata if k.lower() != AUTHORIZATION]
        forwarded.append((AUTHORIZATION, authorization))
        return await stub_method(request, metadata=tuple(forwarded), **kwargs)

    return call
