"""The stored worker control state (`{prefix}:wctl`) and its control-channel message,
checked in raw Redis through the keys module."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from gopher_server.store import schema, worker_control
from gopher_server.store import workers as registry
from gopher_server.store.store import Store
from tests.conftest import FakeClock

ALIVE_MS = 15_000


async def connect(store: Store, worker_id: str) -> None:
    await registry.register_stream(
        store, worker_id, f"{worker_id}-s", hostname="h", pid=1, job_types=["email"], capacity=1
    )


@pytest.mark.one_partition
async def test_set_state_stores_it_and_announces_it_in_the_declared_grammar(
    store: Store, aredis: aioredis.Redis
) -> None:
    pubsub = aredis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(store.keys.control_channel())
    try:
        await worker_control.set_state(store, "host:1-a", worker_control.QUIET)
        assert await aredis.hgetall(store.keys.worker_control()) == {"host:1-a": "quiet"}
        await worker_control.set_state(store, "host:1-a", worker_control.RUNNING)
        assert await aredis.exists(store.keys.worker_control()) == 0  # running is absent
        seen: list[schema.ControlMessage | None] = []
        async with asyncio.timeout(5):
            while len(seen) < 2:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None:
                    seen.append(schema.parse_control(str(message["data"])))
    finally:
        await pubsub.aclose()
    assert seen == [
        schema.ControlMessage("k", ("host:1-a", "quiet")),
        schema.ControlMessage("k", ("host:1-a", "running")),
    ]
    assert worker_control.parse("w", "sleeping") is None  # a state this broker lacks


async def test_presence_tells_unknown_known_and_connected_apart(
    store: Store, clock: FakeClock
) -> None:
    assert await worker_control.presence(store, "w1", ALIVE_MS) == worker_control.Presence(
        known=False, connected=False
    )
    await connect(store, "w1")
    assert await worker_control.presence(store, "w1", ALIVE_MS) == worker_control.Presence(
        known=True, connected=True
    )
    clock.advance(ALIVE_MS + 1)  # its stream's heartbeat is stale now
    assert (await worker_control.presence(store, "w1", ALIVE_MS)).connected is False
    await registry.unregister_stream(store, "w1", "w1-s")
    assert await worker_control.presence(store, "w1", ALIVE_MS) == worker_control.Presence(
        known=True, connected=False
    )


async def test_a_finished_stop_is_cleared_but_a_quiet_state_stays(store: Store) -> None:
    await worker_control.set_state(store, "leaving", worker_control.STOPPING)
    await worker_control.set_state(store, "resting", worker_control.QUIET)
    await asyncio.gather(
        worker_control.stop_done(store, "leaving"), worker_control.stop_done(store, "resting")
    )
    assert await worker_control.all_states(store) == {"resting": "quiet"}
    assert await worker_control.state_of(store, "leaving") == worker_control.RUNNING


async def test_pruning_a_silent_worker_forgets_its_state(
    store: Store, clock: FakeClock, aredis: aioredis.Redis
) -> None:
    await connect(store, "gone")
    await connect(store, "here")
    await worker_control.set_state(store, "gone", worker_control.QUIET)
    await worker_control.set_state(store, "here", worker_control.QUIET)
    clock.advance(60_000)
    await registry.heartbeat(store, [("here", "here-s")])
    assert await registry.prune_workers(store, 30_000) == 1
    assert await aredis.hgetall(store.keys.worker_control()) == {"here": "quiet"}
