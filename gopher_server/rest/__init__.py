"""REST shim: the gopher.v1 contract over HTTP/JSON, with OpenAPI and a docs page.

    app = create_app(AsyncClient("127.0.0.1:50051"))   # mount or run with any ASGI server
    serve("127.0.0.1:50051", port=8080)                 # or run it standalone (blocks)

Routes come from the `google.api.http` options of the contract; `_naming` documents how
messages look in JSON. The shim is a client of the contract: it reaches the broker only
through the generated stubs, on a `gopher_client.AsyncClient`'s channel or, on the
broker's own HTTP port, on `gopher_server.inproc`'s in-process channel.
"""

from gopher_server.rest._app import DEFAULT_MAX_BODY_BYTES, create_app
from gopher_server.rest._serve import serve

__all__ = ["DEFAULT_MAX_BODY_BYTES", "create_app", "serve"]
