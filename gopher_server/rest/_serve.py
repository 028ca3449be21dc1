"""Standalone REST shim: `gopherctl rest --server HOST:PORT` runs this."""

from __future__ import annotations

import asyncio
import contextlib

from gopher_client import AsyncClient
from gopher_server.rest._app import create_app


async def _serve(server: str, host: str, port: int, token: str | None) -> None:
    import uvicorn  # only the standalone shim needs a server of its own

    # grpc.aio channels bind to the running loop, so the client is made inside it.
    client = AsyncClient(server, token=token) if token is not None else AsyncClient(server)
    try:
        config = uvicorn.Config(create_app(client), host=host, port=port, log_level="info")
        await uvicorn.Server(config).serve()
    finally:
        await client.close()


def serve(server: str, host: str = "127.0.0.1", port: int = 8080, token: str | None = None) -> None:
    """Serve the REST API on host:port for the broker at `server`, until interrupted.

    `token` is the bearer token sent when a request carries no Authorization header of
    its own; None means the client's default ($GOPHER_TOKEN, or no token). Blocks until
    SIGINT (then returns) or SIGTERM (then the process ends by that signal, as uvicorn
    re-raises it), each after a graceful shutdown.
    """
    # uvicorn re-raises the SIGINT it handled once it has shut down; Ctrl+C is the normal
    # way to stop a foreground server, so it ends the call quietly instead of a traceback.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(server, host, port, token))
