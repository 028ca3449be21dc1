"""Loads the Lua scripts: each is the shared prelude, the libraries it uses and its own
file, called by SHA."""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from gopher_server.store.autopipe import AutoPipeline
from gopher_server.store.durable import DURABLE_WAIT_MS, NotReplicated, durable_call

SCRIPT_NAMES = (
    "submit",
    "dispatch",
    "ack",
    "nack",
    "extend",
    "expire",
    "release",
    "promote",
    "cancel",
    "requeue_dead",
    "purge_dead",
    "trim_finished",
    "prune_holds",
    "submit_group",
    "run_now",
    "watch",
    "filter_ids",
    "permit",
)


# The libraries in lua/ (each `_<name>.lua`) and the libraries each one calls into.
# Every script starts with `_prelude` (the KEYS and ARGV all scripts share), then the
# libraries it needs, dependencies first, then its own file.
LIBRARIES: dict[str, tuple[str, ...]] = {
    "_job": (),  # the job hash's layout: defaults left out, payload chunks
    "_batch": (),  # deferred writes: one variadic command per key per call
    "_history": ("_batch",),  # job history, events feed, throughput counters
    "_announce": ("_batch",),  # control-channel wake-ups
    "_queues": ("_batch", "_announce"),  # ready lists
    "_create": ("_job", "_batch", "_queues", "_history"),  # creating jobs and follow-ups
    "_groups": ("_create",),  # fan-out / fan-in
    "_final": ("_history", "_create", "_groups"),  # follow-ups of an outcome, the DLQ
    "_leases": ("_batch", "_announce", "_queues", "_history", "_final"),  # leases ending
    "_limits": (),  # the cap on distinct job types
    "_dispatch": ("_job", "_batch", "_queues", "_history"),  # leasing ready jobs to a worker
}

# The libraries each script calls directly (their own dependencies come along).
INCLUDES: dict[str, tuple[str, ...]] = {
    "submit": ("_limits", "_create", "_dispatch"),
    "dispatch": ("_dispatch",),
    "ack": ("_batch", "_leases", "_final", "_groups", "_dispatch"),
    "nack": ("_job", "_leases", "_final"),
    "extend": (),
    "expire": ("_job", "_leases"),
    "release": ("_job", "_leases"),
    "promote": ("_job", "_queues", "_history"),
    "cancel": ("_job", "_queues", "_leases", "_history", "_groups"),
    "requeue_dead": ("_job", "_queues", "_history", "_groups"),
    "purge_dead": (),
    "trim_finished": (),
    "prune_holds": (),
    "submit_group": ("_limits", "_create", "_groups"),
    "run_now": ("_job", "_queues", "_history"),
    "watch": (),
    "filter_ids": ("_job",),
    "permit": ("_announce",),
}

PRELUDE = "_prelude"


def libraries_of(name: str) -> list[str]:
    """Every library script `name` includes, each after the ones it calls into."""
    order: list[str] = []

    def visit(lib: str) -> None:
        if lib in order:
            return
        for dep in LIBRARIES[lib]:
            visit(dep)
        order.append(lib)

    for lib in INCLUDES[name]:
        visit(lib)
    return order


# The prelude's publish command; a cluster's scripts use sharded pub/sub instead.
_PUBLISH_LINE = "local PUBLISH = 'PUBLISH'"


def script_source(name: str, cluster: bool = False) -> str:
    """The full text of script `name`: prelude first, its libraries, then its body.

    For Redis Cluster the script starts with `#!lua`, so Redis refuses any access to a
    key outside the slot of its declared keys instead of allowing it while the slots
    happen to share a node, and it announces with SPUBLISH on its partition's own
    channel: a classic PUBLISH is copied to every node of the cluster."""
    lua = resources.files("gopher_server.store") / "lua"
    parts = [PRELUDE, *libraries_of(name), name]
    source = "\n".join((lua / f"{part}.lua").read_text() for part in parts)
    if not cluster:
        return source
    assert _PUBLISH_LINE in source, "the prelude must declare the publish command"
    return "#!lua\n" + source.replace(_PUBLISH_LINE, "local PUBLISH = 'SPUBLISH'", 1)


def sha1_of(source: str) -> str:
    """The SHA Redis files a script under (EVALSHA's argument)."""
    return hashlib.sha1(source.encode()).hexdigest()


class Scripts:
    """The registered scripts of one Redis client, each called by EVALSHA and reloaded
    after a NOSCRIPT (e.g. when Redis restarted). Calls go through an auto-pipelined
    connection when the client is plain TCP (see store/autopipe.py), else through
    redis-py."""

    def __init__(self, redis: Redis, durable: bool = False) -> None:
        self._scripts: dict[str, Any] = {
            name: redis.register_script(script_source(name)) for name in SCRIPT_NAMES
        }
        self._pipe = AutoPipeline.for_client(redis)
        self._durable = durable
        self._redis = redis

    async def run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run script `name` with the given KEYS and ARGV; returns its raw reply."""
        script = self._scripts[name]
        if self._pipe is None:
            reply = await script(keys=keys, args=args)
            if self._durable and int(await self._redis.wait(1, DURABLE_WAIT_MS)) < 1:
                raise NotReplicated(f"no replica confirmed the write within {DURABLE_WAIT_MS} ms")
            return reply
        try:
            return await self._send(("EVALSHA", script.sha, len(keys), *keys, *args))
        except NoScriptError:
            # EVAL runs it and caches it, so the next EVALSHA finds it again.
            return await self._send(("EVAL", script.script, len(keys), *keys, *args))

    async def _send(self, command: tuple[Any, ...]) -> Any:
        assert self._pipe is not None
        if self._durable:
            return await durable_call(self._pipe, command)
        return await self._pipe.execute(*command)

    async def read(self, key: str, *command: Any) -> Any:
        """A read-only command about `key` (named in `command`), on the same
        connection as the scripts: no pool, batched with whatever else this turn sends."""
        if self._pipe is None:
            return await self._redis.execute_command(*command)
        return await self._pipe.execute(*command)

    async def aclose(self) -> None:
        """Close the auto-pipelined connection, if any."""
        if self._pipe is not None:
            await self._pipe.aclose()
