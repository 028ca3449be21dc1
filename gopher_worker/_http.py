"""The worker's HTTP port: /metrics, /healthz (alive) and /readyz (connected)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class StatusServer:
    """Serves the worker's status on 127.0.0.1 (or `host`) at `port`."""

    def __init__(
        self,
        registry: CollectorRegistry,
        ready: Callable[[], bool],
        port: int,
        host: str = "127.0.0.1",
    ) -> None:
        async def metrics(request: Request) -> Response:
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

        async def healthz(request: Request) -> Response:
            return JSONResponse({"status": "ok"})

        async def readyz(request: Request) -> Response:
            ok = ready()
            return JSONResponse(
                {"status": "ready" if ok else "not connected"}, status_code=200 if ok else 503
            )

        app = Starlette(
            routes=[
                Route("/metrics", metrics),
                Route("/healthz", healthz),
                Route("/readyz", readyz),
            ]
        )
        self._server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        )
        self._task: asyncio.Task[None] | None = None
        self.port = port

    async def start(self) -> None:
        """Serve in the background; returns once listening."""
        self._task = asyncio.create_task(self._server.serve(), name="gopher-worker-http")
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise OSError(f"worker HTTP server failed to start on port {self.port}")
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop serving. Safe before start and twice."""
        if self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, timeout=5)
            self._task = None
