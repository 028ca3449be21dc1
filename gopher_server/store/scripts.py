"""Loads the Lua scripts: each is the shared prelude plus its own file, called by SHA."""

from __future__ import annotations

from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from gopher_server.store.autopipe import AutoPipeline

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
)


# Libraries some scripts include between the prelude and their body.
INCLUDES: dict[str, tuple[str, ...]] = {
    "dispatch": ("_dispatch",),
    # A submit may hand new work straight to a waiting stream; an ack may refill the
    # slots it freed.
    "submit": ("_dispatch",),
    "ack": ("_dispatch",),
}


# Included right after the prelude in every script: any final transition may be a
# group member's, which counts down its group (the prelude forward-declares it).
ALWAYS = ("_groups",)


def script_source(name: str) -> str:
    """The full text of script `name`: prelude first, its includes, then its body."""
    lua = resources.files("gopher_server.store") / "lua"
    parts = ["_prelude", *ALWAYS, *INCLUDES.get(name, ()), name]
    return "\n".join((lua / f"{part}.lua").read_text() for part in parts)


class Scripts:
    """The registered scripts of one Redis client, each called by EVALSHA and reloaded
    after a NOSCRIPT (e.g. when Redis restarted). Calls go through an auto-pipelined
    connection when the client is plain TCP (see store/autopipe.py), else through
    redis-py."""

    def __init__(self, redis: Redis) -> None:
        self._scripts: dict[str, Any] = {
            name: redis.register_script(script_source(name)) for name in SCRIPT_NAMES
        }
        self._pipe = AutoPipeline.for_client(redis)

    async def run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run script `name` with the given KEYS and ARGV; returns its raw reply."""
        script = self._scripts[name]
        if self._pipe is None:
            return await script(keys=keys, args=args)
        try:
            return await self._pipe.execute("EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:
            # EVAL runs it and caches it, so the next EVALSHA finds it again.
            return await self._pipe.execute("EVAL", script.script, len(keys), *keys, *args)

    async def aclose(self) -> None:
        """Close the auto-pipelined connection, if any."""
        if self._pipe is not None:
            await self._pipe.aclose()
