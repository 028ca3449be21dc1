"""Only watched jobs publish their transitions on their job channel (lua/watch.lua):
WatchJob marks a job after subscribing and before reading it."""

from __future__ import annotations

import time

import pytest
import redis.asyncio as aioredis

from gopher_server.store.store import Store
from tests.store.helpers import new_job


async def _messages_until(pubsub: aioredis.client.PubSub, last: str) -> list[tuple[str, str]]:
    """Messages received until one with data `last` (included), in order."""
    got: list[tuple[str, str]] = []
    deadline = time.monotonic() + 5
    while not got or got[-1][1] != last:
        assert time.monotonic() < deadline, f"no {last!r} message; got {got}"
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if message is not None:
            got.append((str(message["channel"]), str(message["data"])))
    return got


@pytest.mark.one_partition
async def test_only_watched_jobs_publish_their_transitions(
    store: Store, aredis: aioredis.Redis
) -> None:
    await store.submit([new_job("quiet"), new_job("seen")])
    assert await store.watch_job("seen") is True
    assert await store.watch_job("nope") is False
    assert not await store.redis.exists(store.job_keys("nope").job("nope"))
    quiet, seen = store.job_channel("quiet"), store.job_channel("seen")
    pubsub = aredis.pubsub()
    try:
        await pubsub.subscribe(quiet, seen)
        leases = (await store.dispatch("w1", "s1", 2, ["email"])).leases
        assert await store.ack([(x.job_id, x.token, "{}") for x in leases]) == ["ok", "ok"]
        # A marker after the transitions: whatever they published arrived before it.
        await aredis.publish(quiet, "end")
        assert await _messages_until(pubsub, "end") == [
            (seen, "active"),
            (seen, "succeeded"),
            (quiet, "end"),
        ]
    finally:
        await pubsub.aclose()
