"""The dashboard's way to the broker: the same contract and call path as the REST shim
(`gopher_server.rest._invoke.Invoker`), with the signed-in user's token.

Pages never read Redis: what they show is what any client of the contract can see,
under the caller's role.
"""

from __future__ import annotations

from typing import TypeVar

from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

from gopher_server.rest._invoke import Invoker
from gopher_server.rest._routes import contract_modules

M = TypeVar("M", bound=Message)


def _methods() -> dict[str, MethodDescriptor]:
    """Every unary RPC of the contract by its bare name (names are unique across services)."""
    found: dict[str, MethodDescriptor] = {}
    for module in contract_modules():
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                if not (method.client_streaming or method.server_streaming):
                    found[method.name] = method
    return found


class Calls:
    """Unary calls on behalf of one request: `await calls.rpc("GetJob", request)`.

    `authorization` is the caller's `Bearer <token>` (from the session cookie), or None
    to call as the broker's own client does (no token: only useful without auth).
    """

    _METHODS: dict[str, MethodDescriptor] | None = None

    def __init__(self, invoker: Invoker, authorization: str | None) -> None:
        self._invoker = invoker
        self._authorization = authorization
        if Calls._METHODS is None:
            Calls._METHODS = _methods()

    async def rpc(self, name: str, request: Message, response_type: type[M]) -> M:
        """Call RPC `name`; raises a `gopher_client.GopherError` subclass on refusal."""
        assert Calls._METHODS is not None
        response = await self._invoker.invoke(Calls._METHODS[name], request, self._authorization)
        assert isinstance(response, response_type)
        return response
