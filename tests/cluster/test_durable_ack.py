"""--durable-ack's WAIT (gopher_server/store/durable.py) on one Redis without replicas:
the write is applied but never confirmed, and a caller's timeout is not held up by the
pending WAIT (a frozen master must not keep a call waiting past its caller's bound)."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis

from gopher_server.store.autopipe import AutoPipeline
from gopher_server.store.durable import DURABLE_WAIT_MS, NotReplicated, durable_call


async def test_a_write_no_replica_confirms_fails_as_not_replicated(
    aredis: aioredis.Redis,
) -> None:
    pipe = AutoPipeline.for_client(aredis)
    assert pipe is not None
    began = time.monotonic()
    try:
        with pytest.raises(NotReplicated):
            await durable_call(pipe, ("SET", "durable:k", "v"))
    finally:
        await pipe.aclose()
    assert time.monotonic() - began >= DURABLE_WAIT_MS / 1000 * 0.9  # WAIT's own timeout
    assert await aredis.get("durable:k") in ("v", b"v")  # applied, only unconfirmed


async def test_a_cancelled_call_does_not_wait_for_its_wait(aredis: aioredis.Redis) -> None:
    pipe = AutoPipeline.for_client(aredis)
    assert pipe is not None
    began = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                # A command that does not answer (as on a frozen master): the WAIT
                # behind it on the connection would not answer either.
                await durable_call(pipe, ("BLPOP", "durable:none", 2))
    finally:
        await pipe.aclose()
    assert time.monotonic() - began < 1.0
