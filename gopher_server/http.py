"""The broker's HTTP port: REST shim, Prometheus metrics, liveness and readiness."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from gopher_client._channel import ChannelConfig
from gopher_server.inproc import CALLER_PEER, LocalClient, peer_of

if TYPE_CHECKING:
    from gopher_server.app import Broker


def create_http_app(broker: Broker) -> ASGIApp:
    """The broker's HTTP app. The REST shim and the dashboard (`/ui/`) call the broker's
    services in process (gopher_server.inproc), through the gRPC server's own
    interceptors: the same validation, auth, metrics and errors as a gRPC client gets,
    without a loopback gRPC hop."""
    from gopher_server.rest import create_app
    from gopher_server.ui import UiSettings, create_ui_app

    # The SDK's deadline, but never a token of the broker's own: a request without an
    # Authorization header is anonymous, whatever $GOPHER_TOKEN the broker process has
    # (borrowing it would hand its role to every unauthenticated HTTP caller).
    client = LocalClient(broker.local_channel, ChannelConfig(server=broker.address, token=None))

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        ok = broker.store is not None and await broker.store.ping()
        return JSONResponse(
            {"status": "ready" if ok else "redis unreachable"}, status_code=200 if ok else 503
        )

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(broker.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def to_dashboard(request: Request) -> Response:
        prefix = request.headers.get("x-forwarded-prefix", "").rstrip("/")
        safe = prefix if prefix.startswith("/") and "//" not in prefix else ""
        return RedirectResponse(f"{safe or broker.config.ui_base_path}/ui/", status_code=307)

    settings = UiSettings(broker.config.ui_base_path, broker.config.ui_read_only)
    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/ui", to_dashboard),
        Mount("/ui", app=create_ui_app(client, settings)),
    ]
    app = Starlette(routes=routes)
    # Everything else goes to the shim, which answers every path itself (a Mount would
    # miss paths Starlette cannot match, such as ones with encoded newlines).
    app.router.default = create_app(client)

    async def with_peer(scope: Scope, receive: Receive, send: Send) -> None:
        # The HTTP caller is the peer the services' interceptors see (logs, spans).
        token = CALLER_PEER.set(peer_of(scope.get("client")))
        try:
            await app(scope, receive, send)
        finally:
            CALLER_PEER.reset(token)

    return with_peer
