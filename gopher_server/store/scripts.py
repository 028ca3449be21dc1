"""Loads the Lua scripts: each is the shared prelude plus its own file, called by SHA."""

from __future__ import annotations

from importlib import resources
from typing import Any

from redis.asyncio import Redis

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
)


def script_source(name: str) -> str:
    """The full text of script `name`: prelude first, then the script body."""
    lua = resources.files("gopher_server.store") / "lua"
    prelude = (lua / "_prelude.lua").read_text()
    body = (lua / f"{name}.lua").read_text()
    return prelude + "\n" + body


class Scripts:
    """The registered scripts of one Redis client. redis-py calls each by EVALSHA and
    reloads it transparently after a NOSCRIPT (e.g. when Redis restarted)."""

    def __init__(self, redis: Redis) -> None:
        self._scripts: dict[str, Any] = {
            name: redis.register_script(script_source(name)) for name in SCRIPT_NAMES
        }

    async def run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run script `name` with the given KEYS and ARGV; returns its raw reply."""
        return await self._scripts[name](keys=keys, args=args)
