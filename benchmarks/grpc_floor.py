"""The floor of Python gRPC on this machine: a bare grpcio echo server (grpc.aio, like
the broker, in its own process) answering from memory, called one message at a time:
over a bidirectional stream and as a unary call, from a sync client and from an asyncio
client. A sync `Client.submit_job` loop cannot beat these; the targets are ratios to
them. The message is a serialized `SubmitJobRequest` for the no-op job, echoed back.

    python -m benchmarks.grpc_floor --port PORT     (the server; the harness starts it)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import queue
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import grpc

from benchmarks import procs
from benchmarks.config import Sizes
from benchmarks.gopher_app import JOB_TYPE
from benchmarks.gopher_stack import LOG_DIR
from gopher_client import submit_request

SERVICE = "bench.Echo"
UNARY, STREAM = f"/{SERVICE}/Unary", f"/{SERVICE}/Stream"
WARM_CALLS = 100
Metrics = dict[str, Any]


async def _unary(request: bytes, context: Any) -> bytes:
    return request


async def _stream(requests: AsyncIterator[bytes], context: Any) -> AsyncIterator[bytes]:
    async for request in requests:
        yield request


async def serve(port: int) -> None:
    """Echo server on 127.0.0.1:`port` until killed (messages stay bytes: no codec)."""
    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Unary": grpc.unary_unary_rpc_method_handler(_unary),
            "Stream": grpc.stream_stream_rpc_method_handler(_stream),
        },
    )
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def _message() -> bytes:
    return submit_request(JOB_TYPE, {}).SerializeToString()


def sync_unary(address: str, n: int) -> float:
    """Seconds for `n` unary echoes from a sync channel, one at a time."""
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_unary(UNARY, request_serializer=None, response_deserializer=None)
        msg = _message()
        for _ in range(WARM_CALLS):
            call(msg)
        started = time.perf_counter()
        for _ in range(n):
            call(msg)
        return time.perf_counter() - started


def sync_stream(address: str, n: int) -> float:
    """Seconds for `n` echoes over one bidi stream from a sync channel: send one,
    read its answer, send the next."""
    with grpc.insecure_channel(address) as channel:
        outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        requests: Iterator[bytes] = iter(outbox.get, None)
        stream = channel.stream_stream(STREAM, request_serializer=None, response_deserializer=None)
        replies = cast(Iterator[bytes], stream(requests))
        msg = _message()
        for _ in range(WARM_CALLS):
            outbox.put(msg)
            next(replies)
        started = time.perf_counter()
        for _ in range(n):
            outbox.put(msg)
            next(replies)
        elapsed = time.perf_counter() - started
        outbox.put(None)
        return elapsed


async def async_unary(address: str, n: int) -> float:
    """Seconds for `n` unary echoes from a grpc.aio channel, one awaited at a time."""
    async with grpc.aio.insecure_channel(address) as channel:
        call = channel.unary_unary(UNARY, request_serializer=None, response_deserializer=None)
        msg = _message()
        for _ in range(WARM_CALLS):
            await call(msg)
        started = time.perf_counter()
        for _ in range(n):
            await call(msg)
        return time.perf_counter() - started


async def async_stream(address: str, n: int) -> float:
    """Seconds for `n` echoes over one bidi stream from a grpc.aio channel."""
    async with grpc.aio.insecure_channel(address) as channel:
        call = channel.stream_stream(STREAM, request_serializer=None, response_deserializer=None)(
            None
        )
        msg = _message()
        for _ in range(WARM_CALLS):
            await call.write(msg)
            await call.read()
        started = time.perf_counter()
        for _ in range(n):
            await call.write(msg)
            await call.read()
        elapsed = time.perf_counter() - started
        await call.done_writing()
        return elapsed


def floors(sizes: Sizes) -> Metrics:
    """Calls per second of each echo variant against a fresh echo server process."""
    port = procs.free_port()
    server = procs.spawn(
        [sys.executable, "-m", "benchmarks.grpc_floor", "--port", str(port)],
        log=LOG_DIR / "grpc-echo.log",
    )
    address = f"127.0.0.1:{port}"
    n = sizes.floor_calls
    try:
        procs.wait_port(port, 20, server)
        return {
            "floor_grpc_stream_sync_per_s": round(n / sync_stream(address, n)),
            "floor_grpc_unary_sync_per_s": round(n / sync_unary(address, n)),
            "floor_grpc_stream_async_per_s": round(n / asyncio.run(async_stream(address, n))),
            "floor_grpc_unary_async_per_s": round(n / asyncio.run(async_unary(address, n))),
            "floor_grpc_calls": n,
        }
    finally:
        procs.stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    loop_factory = None
    with contextlib.suppress(ImportError):  # the broker's loop: uvloop when installed
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve(port))


if __name__ == "__main__":
    main()
