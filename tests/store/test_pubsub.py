"""The store's pub/sub connection over every transport: hiredis' parser on plain TCP,
redis-py's PubSub for TLS and unix sockets. Messages arrive from the moment it is
live, channels come and go while it serves, and a lost connection ends `serve`."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
import redis.asyncio as aioredis
import redis.exceptions

from gopher_server.store.pubsub import PubSub
from tests.support import until


class Served:
    """A PubSub serving in a task, with what it received."""

    def __init__(self, pubsub: PubSub, channels: list[str]) -> None:
        self.pubsub = pubsub
        self.got: list[tuple[str, str]] = []
        self.live = asyncio.Event()
        self.task = asyncio.create_task(pubsub.serve(channels, self._on, self.live.set))

    def _on(self, channel: str, data: str) -> None:
        self.got.append((channel, data))

    async def received(self, message: tuple[str, str]) -> None:
        async def seen() -> bool:
            return message in self.got

        await until(seen, 5, f"message {message}")

    async def stop(self) -> None:
        self.task.cancel()
        # The outcome was checked by the test, if it mattered.
        with contextlib.suppress(asyncio.CancelledError, redis.exceptions.RedisError, OSError):
            await self.task


@pytest.mark.one_partition
async def test_messages_arrive_in_order_once_live(aredis: aioredis.Redis) -> None:
    served = Served(PubSub(aredis), ["a", "b"])
    try:
        await asyncio.wait_for(served.live.wait(), 5)
        for i in range(20):
            await aredis.publish("a" if i % 2 else "b", str(i))
        await aredis.publish("a", "end")
        await served.received(("a", "end"))
        assert [int(d) for _, d in served.got[:-1]] == list(range(20))
        assert all(c == ("a" if int(d) % 2 else "b") for c, d in served.got[:-1])
    finally:
        await served.stop()


@pytest.mark.one_partition
async def test_channels_added_and_dropped_while_serving(aredis: aioredis.Redis) -> None:
    pubsub = PubSub(aredis)
    served = Served(pubsub, ["ctl"])
    try:
        await asyncio.wait_for(served.live.wait(), 5)
        await pubsub.subscribe("job")

        async def job_subscribed() -> bool:
            return bool(await aredis.pubsub_numsub("job") == [("job", 1)])

        await until(job_subscribed, 5, "the job channel's subscription")
        await aredis.publish("job", "running")
        await served.received(("job", "running"))

        await pubsub.unsubscribe("job")

        async def job_dropped() -> bool:
            return bool(await aredis.pubsub_numsub("job") == [("job", 0)])

        await until(job_dropped, 5, "the job channel's unsubscription")
        await aredis.publish("job", "late")
        await aredis.publish("ctl", "after")
        await served.received(("ctl", "after"))
        assert ("job", "late") not in served.got
    finally:
        await served.stop()


@pytest.mark.one_partition
async def test_a_killed_connection_ends_serve_with_a_connection_error(
    aredis: aioredis.Redis,
) -> None:
    served = Served(PubSub(aredis), ["ctl"])
    try:
        await asyncio.wait_for(served.live.wait(), 5)
        await aredis.client_kill_filter(_type="pubsub")
        with pytest.raises((redis.exceptions.ConnectionError, OSError)):
            await asyncio.wait_for(served.task, 10)
    finally:
        await served.stop()
