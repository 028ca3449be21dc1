"""The REST shim application: HTTP in, one contract call out (gRPC or in process), JSON back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketClose

from gopher_client import GopherError
from gopher_server.rest._decode import decode, params_to_json, parse_json_body
from gopher_server.rest._docs_page import DOCS_HTML
from gopher_server.rest._encode import encode
from gopher_server.rest._errors import RestError, from_gopher_error, invalid
from gopher_server.rest._invoke import TRACE_HEADERS, Connection, Invoker
from gopher_server.rest._naming import descriptor_of, rest_name
from gopher_server.rest._openapi import build_openapi
from gopher_server.rest._routes import Binding, Router, discover_bindings
from gopher_server.rest.guard import guard_state_change

logger = logging.getLogger("gopher.rest")

# Default body limit: the broker's default payload limit (1 MiB) plus room for the rest of
# a submit, so an oversized payload is refused here without being read whole.
DEFAULT_MAX_BODY_BYTES = 1_048_576 + 65_536
OPENAPI_PATH = "/api/openapi.json"
DOCS_PATH = "/api/docs"


def _raw_route_path(scope: Scope) -> str:
    """The request path, still percent-encoded, less the prefix the app is mounted under."""
    raw: bytes | None = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path.split("?", 1)[0] or "/"


async def _read_body(request: Request, limit: int) -> bytes:
    """Read the body, refusing with 413 as soon as it is known to exceed `limit` bytes."""
    too_large = RestError(413, "payload_too_large", f"request body is over {limit} bytes", None)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _merge(into: dict[str, Any], values: dict[str, Any]) -> None:
    """Deep-merge `values` into `into`; on a clash the value from `values` wins."""
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def build_request(
    binding: Binding, variables: dict[str, str], query: list[tuple[str, str]], body: Any
) -> Message:
    """Assemble the RPC's request message from path, query and body; 400 on bad input."""
    descriptor = binding.request_type
    path_names = set(variables)
    data: dict[str, Any] = {}
    if binding.body == "*":
        if not isinstance(body, dict):
            raise invalid(None, "request body must be a JSON object")
        for key in body:
            if key in path_names:
                raise invalid(key, f"{key!r} is taken from the path; leave it out of the body")
        data = dict(body)
    elif binding.body:
        data[binding.body] = body
    for name, _ in query:
        if binding.body == "*" or name in path_names or name.split(".")[0] == binding.body:
            raise invalid(name, f"unknown query parameter {name!r}")
    _merge(data, params_to_json(descriptor, query))
    _merge(data, params_to_json(descriptor, variables.items(), source="path parameter"))
    request: Message = message_factory.GetMessageClass(descriptor)()
    decode(data, request)
    return request


def render_response(binding: Binding, response: Message) -> Any:
    """The JSON answer: the whole response, or its `response_body` field."""
    rendered = encode(response)
    if not binding.response_body:
        return rendered
    field = descriptor_of(response).fields_by_name[binding.response_body]
    value = rendered.get(rest_name(field))
    if value is None and field.type == FieldDescriptor.TYPE_MESSAGE and not field.is_repeated:
        return {}  # an unset message field is the empty message
    return value


class Dispatcher:
    """ASGI app serving every contract route plus the OpenAPI document and docs page."""

    def __init__(self, client: Connection, max_body_bytes: int) -> None:
        bindings = discover_bindings()
        self.router = Router(bindings)
        self.invoker = Invoker(client)
        self.max_body_bytes = max_body_bytes
        self.openapi = build_openapi(bindings)
        self.pages: dict[str, Callable[[], Response]] = {
            OPENAPI_PATH: lambda: JSONResponse(self.openapi),
            DOCS_PATH: lambda: HTMLResponse(DOCS_HTML),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await WebSocketClose()(scope, receive, send)  # no websocket routes here
            return
        if scope["type"] != "http":
            return  # lifespan belongs to the enclosing app
        request = Request(scope, receive)
        try:
            response = await self.handle(request, _raw_route_path(scope))
        except RestError as error:
            response = error.response()
        except GopherError as error:
            response = from_gopher_error(error).response()
        except Exception:
            logger.exception("REST %s %s failed", request.method, request.url.path)
            response = RestError(500, "internal", "internal error").response()
        await response(scope, receive, send)

    async def handle(self, request: Request, path: str) -> Response:
        """Answer one request (errors are raised, and rendered by `__call__`)."""
        page = self.pages.get(path)
        if page is not None:
            if request.method != "GET":
                message = f"{request.method} is not allowed here; use GET"
                raise RestError(405, "method_not_allowed", message, headers={"Allow": "GET"})
            return page()
        binding, variables = self.router.match(request.method, path)
        # Before anything is read: a cross-site or non-JSON state change is refused.
        guard_state_change(binding.http_method, request.headers)
        body: Any = None
        if binding.body:
            body = parse_json_body(await _read_body(request, self.max_body_bytes))
        rpc_request = build_request(
            binding, variables, list(request.query_params.multi_items()), body
        )
        authorization = request.headers.get("authorization")
        trace = {k: request.headers[k] for k in TRACE_HEADERS if k in request.headers}
        response = await self.invoker.invoke(binding.method, rpc_request, authorization, trace)
        return JSONResponse(render_response(binding, response), status_code=binding.success_status)


def create_app(client: Connection, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> Starlette:
    """Build the REST shim over `client`, a broker connection the caller owns and closes.

    Routes come from the `google.api.http` options of the gopher.v1 services; see
    `gopher_server.rest._naming` for how messages look in JSON. `max_body_bytes` bounds a
    request body (413 above it).
    """
    dispatcher = Dispatcher(client, max_body_bytes)
    app = Starlette()
    # The dispatcher is the router's fallback rather than a Mount: Starlette's route
    # patterns do not match every path (a "." never matches an encoded newline), and the
    # shim must answer every path itself, with its JSON errors.
    app.router.default = dispatcher
    app.state.dispatcher = dispatcher
    return app
