"""The delivery stream: open StreamJobs, hand each message on, and reconnect with
backoff (to whichever listed broker answers) when it breaks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

import grpc
from gopher.v1 import worker_service_pb2 as pb

log = logging.getLogger(__name__)
FIRST_RETRY_S = 0.1
RECONNECT_MAX_S = 5.0


class StreamCall(Protocol):
    """One open StreamJobs call (grpc.aio's stream call has this shape)."""

    def __aiter__(self) -> AsyncIterator[pb.StreamJobsResponse]:
        """The broker's messages, until the stream ends or breaks."""
        ...

    def cancel(self) -> bool:
        """Close the call."""
        ...


async def receive_jobs(
    open_stream: Callable[[pb.StreamJobsRequest], StreamCall],
    request: pb.StreamJobsRequest,
    on_response: Callable[[pb.StreamJobsResponse], None],
    connected: asyncio.Event,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Keep a stream open forever, passing each message to `on_response`; only
    cancellation ends it. `connected` is set while a stream delivers (its first
    message, empty, says the broker accepted the worker) and cleared when it breaks;
    reconnects back off from FIRST_RETRY_S to RECONNECT_MAX_S, reset by any message."""
    delay = FIRST_RETRY_S
    while True:
        call = open_stream(request)
        try:
            async for response in call:
                connected.set()
                delay = FIRST_RETRY_S
                on_response(response)
            log.info("broker closed the stream; reconnecting")
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                log.error("broker refused the worker: %s", exc.details())
            else:
                log.warning(
                    "stream to broker lost (%s); reconnecting in %.1fs", exc.code().name, delay
                )
        finally:
            connected.clear()
            call.cancel()
        await sleep(delay)
        delay = min(delay * 2, RECONNECT_MAX_S)
