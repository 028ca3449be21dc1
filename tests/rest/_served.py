"""The shim under a real uvicorn server, on its own event loop in a background thread."""

from __future__ import annotations

import asyncio
import socket
import threading

import uvicorn

from gopher_client import AsyncClient
from gopher_server.rest import create_app
from tests.support import wait_until


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class ShimServer:
    """`create_app` over an AsyncClient to `broker_address`, served by uvicorn."""

    def __init__(self, broker_address: str) -> None:
        self.broker_address = broker_address
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.server: uvicorn.Server | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="rest-shim")

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        # grpc.aio binds a channel to the loop that made it: make the client here.
        client = AsyncClient(self.broker_address)
        app = create_app(client)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", timeout_graceful_shutdown=5
        )
        self.server = uvicorn.Server(config)
        try:
            await self.server.serve()
        finally:
            await client.close()

    def start(self) -> ShimServer:
        """Start serving; return once the server accepts connections."""
        self._thread.start()
        wait_until(lambda: self.server is not None and self.server.started, what="uvicorn")
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread. Safe twice."""
        if self.server is not None:
            self.server.should_exit = True
        self._thread.join(10)
        assert not self._thread.is_alive(), "the shim's uvicorn did not stop"
