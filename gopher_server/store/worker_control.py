"""What operators asked of workers: quiet, stopping, or (by default) running.

The desired state lives in one hash (`Keys.worker_control`, absent = running) so that
it outlives a stream: a worker that reconnects to another broker, or whose broker
restarted, is told again when its stream opens. A change is also announced on the
control channel as "k <worker id> <state>" (grammar: store/schema.py CONTROL_KINDS)
so that whichever broker holds the worker's stream tells it at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from gopher_server.store._text import text
from gopher_server.store.schema import WORKER_CONTROL, encode_control
from gopher_server.store.store import Store

RUNNING, QUIET, STOPPING = "running", "quiet", "stopping"
STATES = (RUNNING, QUIET, STOPPING)


def encode(worker_id: str, state: str) -> str:
    """The control-channel message announcing `worker_id`'s new desired state."""
    return encode_control(WORKER_CONTROL, worker_id, state)


def parse(worker_id: str, state: str) -> tuple[str, str] | None:
    """(worker id, state) from a parsed "k" message's arguments; None for a state this
    broker does not know (a newer broker's), which the hub then ignores."""
    return (worker_id, state) if state in STATES else None


@dataclass(frozen=True, slots=True)
class Presence:
    """Whether the brokers know a worker, and whether it has a live stream now."""

    known: bool
    connected: bool


async def presence(store: Store, worker_id: str, alive_within_ms: int) -> Presence:
    """Is the worker in the registry (seen and not pruned), and does one of its
    streams have a heartbeat within `alive_within_ms`?"""
    keys, now = store.keys, store.clock.now_ms()
    async with store.redis.pipeline(transaction=False) as pipe:
        pipe.zscore(keys.workers(), worker_id)
        pipe.hvals(store.parts[0].keys.worker_streams(worker_id))
        seen, beats = await pipe.execute()
    live = any(now - int(beat) <= alive_within_ms for beat in beats)
    return Presence(known=seen is not None, connected=live)


async def state_of(store: Store, worker_id: str) -> str:
    """The worker's desired state; RUNNING when none was set."""
    value = await store.redis.hget(store.keys.worker_control(), worker_id)
    return text(value) if value is not None else RUNNING


async def all_states(store: Store) -> dict[str, str]:
    """{worker id: state} for every worker that is not running."""
    stored = await store.redis.hgetall(store.keys.worker_control())
    return {text(k): text(v) for k, v in stored.items()}


async def set_state(store: Store, worker_id: str, state: str) -> None:
    """Store the worker's desired state, then announce it to every broker (a broker
    that hears the message and reads the hash finds the new state)."""
    keys = store.keys
    if state == RUNNING:
        await store.redis.hdel(keys.worker_control(), worker_id)
    else:
        await store.redis.hset(keys.worker_control(), worker_id, state)
    await store.publish(keys.control_channel(), encode(worker_id, state))


async def stop_done(store: Store, worker_id: str) -> None:
    """A stopping worker's stream closed cleanly: the stop is over, so a new process
    that reuses the id starts running. (A broker that dies or shuts down never gets
    here, and the stop stays for the worker's reconnect elsewhere.)"""
    key = store.keys.worker_control()
    value = await store.redis.hget(key, worker_id)
    if value is not None and text(value) == STOPPING:
        await store.redis.hdel(key, worker_id)


async def forget(store: Store, worker_ids: list[str]) -> None:
    """Drop the states of workers pruned from the registry."""
    if worker_ids:
        await store.redis.hdel(store.keys.worker_control(), *worker_ids)
