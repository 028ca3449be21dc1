"""The broker's pub/sub connection, as the store offers it: subscribe to channels and
get each message as (channel, data) until the connection is lost.

Plain TCP goes through store/subscriber.py (hiredis, parsed as bytes arrive: the
cheap path every submit's wake-up takes); other URLs (`rediss://`, unix sockets) go
through redis-py's PubSub. Reconnecting is the caller's choice (the hub backs off and
wakes every stream, since messages sent while away are lost).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import Protocol

import redis.asyncio as aioredis
import redis.exceptions

from gopher_server.store.autopipe import RedisTarget
from gopher_server.store.subscriber import Subscriber

OnMessage = Callable[[str, str], None]


class PubSubLike(Protocol):
    """What the hub needs of a pub/sub connection (PubSub, or ShardedPubSub on a
    cluster)."""

    async def serve(
        self, channels: Iterable[str], on_message: OnMessage, on_live: Callable[[], None]
    ) -> None: ...

    async def subscribe(self, channel: str) -> None: ...

    async def unsubscribe(self, channel: str) -> None: ...


class PubSub:
    """One subscribed connection at a time over `redis`'s server."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._target = RedisTarget.of(redis)
        self._subscriber: Subscriber | None = None
        self._pubsub: aioredis.client.PubSub | None = None

    async def serve(
        self, channels: Iterable[str], on_message: OnMessage, on_live: Callable[[], None]
    ) -> None:
        """Subscribe to `channels`, call `on_live` once Redis confirmed them, then pass
        every message to `on_message` until the connection is lost (raises a redis
        ConnectionError or TimeoutError, or OSError) or the task is cancelled."""
        if self._target is not None:
            await self._serve_subscriber(self._target, list(channels), on_message, on_live)
        else:
            await self._serve_redis_py(list(channels), on_message, on_live)
        raise redis.exceptions.ConnectionError("pub/sub connection closed")

    async def subscribe(self, channel: str) -> None:
        """Add a channel to the live connection (a lost one resubscribes from the
        caller's list when it serves again)."""
        if self._subscriber is not None:
            self._subscriber.subscribe(channel)
        elif self._pubsub is not None:
            await self._pubsub.subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        """Drop a channel from the live connection, if there is one."""
        if self._subscriber is not None:
            self._subscriber.unsubscribe(channel)
        elif self._pubsub is not None:
            with contextlib.suppress(redis.exceptions.RedisError):
                await self._pubsub.unsubscribe(channel)

    async def _serve_subscriber(
        self,
        target: RedisTarget,
        channels: list[str],
        on_message: OnMessage,
        on_live: Callable[[], None],
    ) -> None:
        subscriber = await Subscriber.open(target, channels, on_message)
        try:
            self._subscriber = subscriber
            on_live()
            await subscriber.until_lost()
        finally:
            self._subscriber = None
            subscriber.close()

    async def _serve_redis_py(
        self, channels: list[str], on_message: OnMessage, on_live: Callable[[], None]
    ) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(*channels)
            self._pubsub = pubsub
            on_live()
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None:
                    on_message(message["channel"], message["data"])
        finally:
            self._pubsub = None
            with contextlib.suppress(Exception):
                await pubsub.aclose()
