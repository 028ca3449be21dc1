"""The hub's raw pub/sub connection (store/subscriber.py)."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from gopher_server.store.autopipe import RedisTarget
from gopher_server.store.subscriber import Subscriber
from tests.support import until

pytestmark = pytest.mark.tcp_only  # the auto-pipelined connection and raw reader are TCP's


def _target(aredis: aioredis.Redis) -> RedisTarget:
    target = RedisTarget.of(aredis)
    assert target is not None
    return target


async def test_messages_arrive_in_order_from_the_moment_open_returns(
    aredis: aioredis.Redis,
) -> None:
    got: list[tuple[str, str]] = []
    sub = await Subscriber.open(_target(aredis), ["a", "b"], lambda c, d: got.append((c, d)))
    try:
        for i in range(50):
            await aredis.publish("a" if i % 2 else "b", str(i))
        await aredis.publish("a", "end")
        await until(lambda: _async_true(got and got[-1] == ("a", "end")), 5, "the last message")
        assert [int(d) for _, d in got[:-1]] == list(range(50))
        assert all(c == ("a" if int(d) % 2 else "b") for c, d in got[:-1])
    finally:
        sub.close()


async def test_channels_can_be_added_and_dropped(aredis: aioredis.Redis) -> None:
    got: list[tuple[str, str]] = []
    sub = await Subscriber.open(_target(aredis), ["ctl"], lambda c, d: got.append((c, d)))
    try:
        sub.subscribe("job")
        await until(lambda: _async_numsub(aredis, "job", 1), 5, "the subscription")
        await aredis.publish("job", "x")
        sub.unsubscribe("job")
        await until(lambda: _async_numsub(aredis, "job", 0), 5, "the unsubscription")
        await aredis.publish("job", "y")
        await aredis.publish("ctl", "end")
        await until(lambda: _async_true(got and got[-1] == ("ctl", "end")), 5, "the marker")
        assert got == [("job", "x"), ("ctl", "end")]
    finally:
        sub.close()


async def test_until_lost_returns_when_redis_drops_the_connection(aredis: aioredis.Redis) -> None:
    sub = await Subscriber.open(_target(aredis), ["ctl"], lambda c, d: None)
    try:
        waiting = asyncio.ensure_future(sub.until_lost())
        await aredis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        await asyncio.wait_for(waiting, 5)
    finally:
        sub.close()


async def test_a_connection_that_stops_answering_is_dropped(aredis: aioredis.Redis) -> None:
    sub = await Subscriber.open(_target(aredis), ["ctl"], lambda c, d: None)
    # Pause the server's handling of clients: PINGs go unanswered.
    await aredis.execute_command("CLIENT", "PAUSE", 1500, "ALL")
    try:
        await asyncio.wait_for(sub.until_lost(ping_every_s=0.2), 5)
    finally:
        sub.close()
        await aredis.execute_command("CLIENT", "UNPAUSE")


async def _async_true(value: object) -> bool:
    return bool(value)


async def _async_numsub(aredis: aioredis.Redis, channel: str, want: int) -> bool:
    ((_, count),) = await aredis.pubsub_numsub(channel)
    return int(count) == want
