"""The auto-pipelined connection the store's scripts run on (store/autopipe.py)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
import redis.exceptions

from gopher_server.store.autopipe import AutoPipeline, RedisTarget
from gopher_server.store.functions import build_library
from gopher_server.store.scripts import Scripts
from tests.support import until

pytestmark = pytest.mark.tcp_only  # the auto-pipelined connection and raw reader are TCP's


@pytest.fixture
async def pipe(aredis: aioredis.Redis) -> AsyncIterator[AutoPipeline]:
    made = AutoPipeline.for_client(aredis)
    assert made is not None
    yield made
    await made.aclose()


async def _clients_named(aredis: aioredis.Redis) -> int:
    return len(await aredis.client_list())


async def test_concurrent_commands_get_their_own_replies_over_one_connection(
    aredis: aioredis.Redis, pipe: AutoPipeline
) -> None:
    before = await _clients_named(aredis)
    replies = await asyncio.gather(*(pipe.execute("INCRBY", f"k{i % 7}", i) for i in range(500)))
    # Each reply is the counter right after that caller's own increment: per key the
    # replies are the running sums in submission order.
    sums: dict[int, int] = {}
    for i, reply in enumerate(replies):
        sums[i % 7] = sums.get(i % 7, 0) + i
        assert reply == sums[i % 7]
    assert await _clients_named(aredis) == before + 1


async def test_an_error_reply_fails_only_its_caller(pipe: AutoPipeline) -> None:
    await pipe.execute("SET", "s", "text")
    results = await asyncio.gather(
        pipe.execute("GET", "s"),
        pipe.execute("INCR", "s"),
        pipe.execute("GET", "s"),
        return_exceptions=True,
    )
    assert results[0] == "text" and results[2] == "text"
    assert isinstance(results[1], redis.exceptions.ResponseError)
    assert "not an integer" in str(results[1])


async def test_a_cancelled_caller_does_not_shift_the_replies(pipe: AutoPipeline) -> None:
    await pipe.execute("SET", "a", "1")
    await pipe.execute("SET", "b", "2")
    slow = asyncio.ensure_future(pipe.execute("GET", "a"))
    other = asyncio.ensure_future(pipe.execute("GET", "b"))
    slow.cancel()
    assert await other == "2"
    assert await pipe.execute("GET", "a") == "1"


async def test_reconnects_after_the_connection_is_killed(
    aredis: aioredis.Redis, pipe: AutoPipeline
) -> None:
    assert await pipe.execute("PING") == "PONG"
    await aredis.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    # The kill may land before or after the next write: either that call fails with
    # ConnectionError (never a wrong reply), or it already runs on a new connection.
    try:
        await pipe.execute("SET", "after", "kill")
    except redis.exceptions.ConnectionError:
        await pipe.execute("SET", "after", "kill")
    assert await aredis.get("after") == "kill"


async def test_commands_in_flight_when_the_connection_drops_fail_and_are_not_resent(
    aredis: aioredis.Redis, pipe: AutoPipeline
) -> None:
    # A blocking command is in flight when its connection is killed.
    blocked = asyncio.ensure_future(pipe.execute("BLPOP", "never", 5))

    async def blocked_seen() -> bool:
        return any(c.get("cmd") == "blpop" for c in await aredis.client_list())

    await until(blocked_seen, 5, "the BLPOP to reach redis")
    await aredis.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    with pytest.raises(redis.exceptions.ConnectionError):
        await asyncio.wait_for(blocked, 5)
    assert await pipe.execute("PING") == "PONG"


async def test_unreachable_redis_fails_with_a_connection_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    pipe = AutoPipeline(RedisTarget("127.0.0.1", port, connect_timeout=0.5))
    with pytest.raises(redis.exceptions.ConnectionError, match="cannot reach redis"):
        await pipe.execute("PING")


async def test_selects_the_database_and_authenticates(
    aredis: aioredis.Redis, redis_url: str
) -> None:
    await aredis.execute_command("ACL", "SETUSER", "gopher-test", "on", ">s3cret", "~*", "+@all")
    try:
        base = redis_url.rsplit("/", 1)[0].replace("redis://", "redis://gopher-test:s3cret@")
        other = aioredis.Redis.from_url(f"{base}/3", decode_responses=True)
        pipe = AutoPipeline.for_client(other)
        assert pipe is not None
        await pipe.execute("SET", "where", "db3")
        assert await pipe.execute("ACL", "WHOAMI") == "gopher-test"
        assert await other.get("where") == "db3"
        assert await aredis.get("where") is None
        await other.delete("where")
        await pipe.aclose()
        await other.aclose()
    finally:
        await aredis.execute_command("ACL", "DELUSER", "gopher-test")


async def test_scripts_reload_after_a_script_flush(aredis: aioredis.Redis) -> None:
    scripts = Scripts(aredis, functions=False)  # the EVALSHA form, as before Redis 7
    try:
        # release.lua with no ids is a harmless call that still runs the prelude.
        keys = [f"{{t}}:{i}" for i in range(14)]
        await aredis.script_flush()
        with pytest.raises(redis.exceptions.ResponseError) as first:
            await scripts.run("release", keys, [])
        # Whatever the script says about its missing arguments, it was found and run:
        # not a NOSCRIPT error.
        assert "NOSCRIPT" not in str(first.value)
        assert await aredis.script_exists(scripts._scripts["release"].sha) == [True]
    finally:
        await scripts.aclose()


async def test_the_function_library_reloads_after_a_function_flush(aredis: aioredis.Redis) -> None:
    scripts = Scripts(aredis)
    library = build_library()
    try:
        keys = [f"{{t}}:{i}" for i in range(15)]
        await aredis.execute_command("FUNCTION", "FLUSH")
        with pytest.raises(redis.exceptions.ResponseError) as first:
            await scripts.run("release", keys, [])
        # The library was loaded and the function ran: its own argument check answered.
        assert "not found" not in str(first.value).lower()
        assert "ARGV" in str(first.value)
        listed = await aredis.execute_command("FUNCTION", "LIST", "LIBRARYNAME", library.name)
        assert len(listed) == 1
        # A second broker finding the library already there runs it as well.
        other = Scripts(aredis)
        await aredis.execute_command("FUNCTION", "FLUSH")
        await aredis.execute_command("FUNCTION", "LOAD", library.source)
        with pytest.raises(redis.exceptions.ResponseError, match="ARGV"):
            await other.run("release", keys, [])
        await other.aclose()
    finally:
        await scripts.aclose()


def test_other_urls_keep_redis_py() -> None:
    assert AutoPipeline.for_client(aioredis.Redis.from_url("unix:///tmp/redis.sock")) is None
    assert AutoPipeline.for_client(aioredis.Redis.from_url("rediss://127.0.0.1:1/0")) is None
