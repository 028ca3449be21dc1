"""One Redis connection that sends concurrent commands together (auto-pipelining).

The broker's hot path is one script call per RPC (SubmitJob, a dispatch, a batch of
acks). Through redis-py's asyncio client each call takes a connection from the pool,
writes, and waits on its own, which costs about 120 µs of broker CPU per call on our
reference machine: more than the script itself. Here every caller appends its packed
command to a shared buffer and gets a future; the buffer goes out in one write per
event-loop turn, and replies, which Redis sends in order, resolve the futures in order.
With 64 submits in flight that is one write and one read for many calls, and no pool.

Only plain TCP (`redis://`) is handled; other URLs keep redis-py (see `RedisTarget.of`).
A command that was written when the connection broke fails with ConnectionError and
is not re-sent: a script may have run, and running a transition twice is worse than
reporting UNAVAILABLE. A command that could not be written because the connection was
down reconnects first, with a short bounded retry like redis-py's.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import hiredis
from redis._parsers.base import BaseParser
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

# Reconnect attempts before a command fails, and the pause before each retry (s).
_CONNECT_BACKOFF = (0.0, 0.05, 0.2, 0.5)


class RedisProtocol(asyncio.Protocol):
    """Parses replies with hiredis and resolves the waiting futures in order; in push
    mode (`on_push` set, for pub/sub) every reply goes to `on_push` instead."""

    def __init__(self, encoding: str | None) -> None:
        kwargs: dict[str, Any] = {"replyError": BaseParser.parse_error}
        if encoding:
            kwargs["encoding"] = encoding
        self._reader = hiredis.Reader(**kwargs)
        self.waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        # Packed commands of this turn, written together by `flush`. The buffer lives
        # on the connection so commands queued for a dead connection never reach its
        # successor, where their replies would resolve the wrong futures.
        self.out: list[bytes] = []
        self.flush_scheduled = False
        self.on_push: Callable[[Any], None] | None = None
        self.lost = asyncio.Event()
        self.last_data = time.monotonic()

    def send(self, command: bytes) -> asyncio.Future[Any]:
        """Queue `command` for this turn's write; the future gets its reply."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self.waiting.append(future)
        self.out.append(command)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            loop.call_soon(self.flush)
        return future

    def flush(self) -> None:
        self.flush_scheduled = False
        data, self.out = b"".join(self.out), []
        if self.transport is not None:
            self.transport.write(data)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport; same interface.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.last_data = time.monotonic()
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            if self.on_push is not None:
                self.on_push(reply)
                continue
            future = self.waiting.popleft()
            if future.done():  # the caller was cancelled; the reply is dropped
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    def write(self, command: bytes) -> None:
        """Write one packed command now (push mode: its reply comes as a push)."""
        if self.transport is not None:
            self.transport.write(command)

    def close(self) -> None:
        """Close the connection; waiting commands fail with ConnectionError."""
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.lost.set()
        self.transport = None
        self.out = []
        error = RedisConnectionError(f"connection to redis lost: {exc or 'closed'}")
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(error)


@dataclass(frozen=True)
class RedisTarget:
    """Where and how to open a raw connection: the server, database and credentials
    of a redis-py client."""

    host: str
    port: int
    db: int = 0
    username: str | None = None
    password: str | None = None
    encoding: str | None = "utf-8"
    connect_timeout: float = 2.0

    @classmethod
    def of(cls, redis: Redis) -> RedisTarget | None:
        """The target of `redis`, or None when that client is not plain TCP (TLS, Unix
        socket): those keep redis-py."""
        pool = redis.connection_pool
        kw = pool.connection_kwargs
        if "host" not in kw or kw.get("ssl") or "path" in kw:
            return None
        if pool.connection_class.__name__.endswith("SSLConnection"):
            return None
        return cls(
            host=kw.get("host", "localhost"),
            port=int(kw.get("port", 6379)),
            db=int(kw.get("db", 0) or 0),
            username=kw.get("username"),
            password=kw.get("password"),
            encoding="utf-8" if kw.get("decode_responses") else None,
            connect_timeout=kw.get("socket_connect_timeout") or 2.0,
        )

    async def open(self) -> RedisProtocol:
        """A connected, authenticated protocol on the target database."""
        loop = asyncio.get_running_loop()
        encoding = self.encoding
        _, protocol = await asyncio.wait_for(
            loop.create_connection(lambda: RedisProtocol(encoding), self.host, self.port),
            self.connect_timeout,
        )
        # Handshake before anyone else may write: AUTH, then SELECT.
        handshake: list[tuple[Any, ...]] = []
        if self.password:
            user = self.username
            handshake.append(("AUTH", user, self.password) if user else ("AUTH", self.password))
        if self.db:
            handshake.append(("SELECT", self.db))
        for command in handshake:
            await asyncio.wait_for(
                protocol.send(hiredis.pack_command(command)), self.connect_timeout
            )
        return protocol


class AutoPipeline:
    """Sends commands over one lazily opened connection, batching those issued in the
    same event-loop turn into one write."""

    def __init__(self, target: RedisTarget) -> None:
        self.target = target
        self._protocol: RedisProtocol | None = None
        self._connecting: asyncio.Lock | None = None

    @classmethod
    def for_client(cls, redis: Redis) -> AutoPipeline | None:
        """An auto-pipeline to the same server, database and credentials as `redis`,
        or None when that client is not plain TCP (TLS, Unix socket)."""
        target = RedisTarget.of(redis)
        return cls(target) if target is not None else None

    async def execute(self, *args: Any) -> Any:
        """Send one command; returns its reply (str when decoding), raises its error."""
        protocol = self._protocol
        if protocol is None or protocol.closed:
            protocol = await self._connect()
        return await protocol.send(hiredis.pack_command(args))

    async def _connect(self) -> RedisProtocol:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._protocol is not None and not self._protocol.closed:
                return self._protocol
            error: Exception | None = None
            for pause in _CONNECT_BACKOFF:
                if pause:
                    await asyncio.sleep(pause)
                try:
                    self._protocol = await self.target.open()
                    return self._protocol
                except (OSError, RedisConnectionError) as exc:  # TimeoutError is an OSError
                    error = exc
            address = f"{self.target.host}:{self.target.port}"
            raise RedisConnectionError(f"cannot reach redis at {address}: {error}")

    async def aclose(self) -> None:
        """Close the connection; waiting commands fail with ConnectionError."""
        protocol, self._protocol = self._protocol, None
        if protocol is not None:
            protocol.close()
