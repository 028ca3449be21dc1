"""`--durable-ack`: answer a write only once a replica has it.

Redis replicates asynchronously: a master that fails right after answering can lose a
write its replica never received, and a promoted replica then knows nothing of a job
the client was told is stored (docs/durability.md). With durable acks every script
call is followed, in the same write on the same connection, by `WAIT 1 <timeout>`,
which answers once at least one replica has acknowledged every write that connection
made so far. Without a replica in time the call fails as UNAVAILABLE (the write may
still be there), and the client's retry with its idempotency key is safe.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.exceptions

from gopher_server.store.autopipe import AutoPipeline

# How long a write waits for a replica to confirm it.
DURABLE_WAIT_MS = 1_000


class NotReplicated(redis.exceptions.ConnectionError):
    """No replica confirmed a write in time."""


async def durable_call(pipe: AutoPipeline, command: tuple[Any, ...]) -> Any:
    """Send `command` and `WAIT 1` together; the reply once a replica has it."""
    reply_f = asyncio.ensure_future(pipe.execute(*command))
    wait_f = asyncio.ensure_future(pipe.execute("WAIT", 1, DURABLE_WAIT_MS))
    wait_f.add_done_callback(_consume)
    try:
        reply = await reply_f
        replicas = await wait_f
    except redis.exceptions.ResponseError as exc:
        if not reply_f.done() or reply_f.exception() is not None:
            raise  # the script's own error
        # A master demoted while the WAIT was pending (a failover: "UNBLOCKED ...
        # instance state changed") answers it with an error: the write may be lost.
        raise NotReplicated(f"the write's replication is unknown: {exc}") from None
    except BaseException:
        # The script failed, or the call was cancelled (a caller's timeout on a master
        # that stopped answering): do not wait on the WAIT, which would hang as long.
        wait_f.cancel()
        raise
    if int(replicas) < 1:
        raise NotReplicated(f"no replica confirmed the write within {DURABLE_WAIT_MS} ms")
    return reply


def _consume(future: asyncio.Future[Any]) -> None:
    """Retrieve a WAIT's error nobody awaited (the script's failure came first)."""
    if not future.cancelled():
        future.exception()
