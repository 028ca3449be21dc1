"""A small TCP proxy for fault tests: forwards a local port to a target port and can
drop every connection through it at once, as a flaky network or a load balancer
restart would. All proxies share one asyncio loop in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
_CHUNK_BYTES = 65536


class ProxyLoop:
    """The event loop the proxies run on, in a daemon thread. `close()` stops it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="proxy")
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 10) -> T:
        """Run a coroutine on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class TcpProxy:
    """Listens on 127.0.0.1 (a free port, or `port`) and pipes each connection to
    127.0.0.1:`target_port`. A connection whose target refuses is closed at once."""

    def __init__(self, loop: ProxyLoop, target_port: int, port: int = 0) -> None:
        self._loop = loop
        self.target_port = target_port
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._server = loop.run(asyncio.start_server(self._accept, "127.0.0.1", port))
        self.port: int = self._server.sockets[0].getsockname()[1]
        self.drops = 0

    @property
    def address(self) -> str:
        """host:port clients connect to."""
        return f"127.0.0.1:{self.port}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            target_reader, target_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, target_writer)
        self._pairs.add(pair)
        try:
            await asyncio.gather(
                self._pipe(reader, target_writer), self._pipe(target_reader, writer)
            )
        finally:
            self._pairs.discard(pair)
            for side in pair:
                side.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while chunk := await reader.read(_CHUNK_BYTES):
                writer.write(chunk)
                await writer.drain()
        # One side ended: end both, so neither end waits on a half-open connection.
        writer.transport.abort()

    def drop_all(self) -> int:
        """Abort every open connection (both ends see a reset); returns how many."""

        async def drop() -> int:
            pairs = list(self._pairs)
            for client, target in pairs:
                client.transport.abort()
                target.transport.abort()
            return len(pairs)

        dropped = self._loop.run(drop())
        self.drops += 1
        return dropped

    def close(self) -> None:
        """Stop listening and drop every connection."""
        self.drop_all()

        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()

        self._loop.run(close())
