"""Runs the Lua scripts against one Redis: as Redis Functions (store/functions.py) where
the server has them, else by EVALSHA of their text (store/lua_sources.py)."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from gopher_server.store.autopipe import AutoPipeline
from gopher_server.store.durable import DURABLE_WAIT_MS, NotReplicated, durable_call
from gopher_server.store.functions import FunctionsUnsupported, build_library, fcall
from gopher_server.store.lua_sources import SCRIPT_NAMES, script_source


class Scripts:
    """The scripts of one Redis client. Each call is an FCALL of the broker's function
    library, loaded on first use (and again if the server lost it, e.g. after a
    restart without persistence); on a server before Redis 7 it is an EVALSHA,
    reloaded after a NOSCRIPT. Calls go through an auto-pipelined connection when the
    client is plain TCP (see store/autopipe.py), else through redis-py."""

    def __init__(self, redis: Redis, durable: bool = False, functions: bool = True) -> None:
        self._scripts: dict[str, Any] = {
            name: redis.register_script(script_source(name)) for name in SCRIPT_NAMES
        }
        self._library = build_library() if functions else None
        self._pipe = AutoPipeline.for_client(redis)
        self._durable = durable
        self._redis = redis

    async def run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run script `name` with the given KEYS and ARGV; returns its raw reply."""
        if self._library is not None:
            try:
                return await fcall(self._send, self._library, name, keys, args)
            except FunctionsUnsupported:
                self._library = None
        script = self._scripts[name]
        try:
            return await self._send(("EVALSHA", script.sha, len(keys), *keys, *args))
        except NoScriptError:
            # EVAL runs it and caches it, so the next EVALSHA finds it again.
            return await self._send(("EVAL", script.script, len(keys), *keys, *args))

    async def _send(self, command: tuple[Any, ...]) -> Any:
        if self._pipe is None:
            reply = await self._redis.execute_command(*command)
            if self._durable and int(await self._redis.wait(1, DURABLE_WAIT_MS)) < 1:
                raise NotReplicated(f"no replica confirmed the write within {DURABLE_WAIT_MS} ms")
            return reply
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
