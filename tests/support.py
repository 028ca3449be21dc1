"""Test helpers: a broker in a background thread, and condition waits."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import grpc
from gopher.v1 import worker_service_pb2 as wpb
from gopher.v1 import worker_service_pb2_grpc

from gopher_client import AsyncClient
from gopher_server.app import Broker
from gopher_server.config import ServerConfig


class BrokerThread:
    """A real broker on its own event loop in a background thread, so both sync tests
    (CLI, sync client) and async tests can talk to it over TCP."""

    def __init__(self, config: ServerConfig, clock: Any = None) -> None:
        self.config = config
        self.clock = clock
        self.broker: Broker | None = None
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="broker")

    @property
    def address(self) -> str:
        """host:port of the broker's gRPC server."""
        assert self.broker is not None
        return self.broker.address

    @property
    def http_url(self) -> str:
        """Base URL of the broker's HTTP server."""
        assert self.broker is not None and self.broker.http_port is not None
        return f"http://127.0.0.1:{self.broker.http_port}"

    def run(self, coro: Awaitable[Any], timeout_s: float = 30) -> Any:
        """Run a coroutine on the broker's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)  # type: ignore[arg-type]

    def start(self) -> BrokerThread:
        """Start the loop thread and the broker."""
        self._thread.start()
        self.broker = Broker(self.config, self.clock)
        self.run(self.broker.start())
        return self

    def stop(self) -> None:
        """Stop the broker and its loop. Safe twice."""
        if self.broker is not None:
            self.run(self.broker.stop())
            self.broker = None
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()


def wait_until(
    predicate: Callable[[], Any], timeout_s: float = 10.0, what: str = "condition"
) -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.01)


async def until(
    predicate: Callable[[], Awaitable[Any]], timeout_s: float = 10.0, what: str = "condition"
) -> Any:
    """Async `wait_until`: await `predicate` until truthy; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.01)


async def lease_and_ack_one(
    client: AsyncClient, job_type: str, worker_id: str, result_json: str = ""
) -> str:
    """Lease one `job_type` job over the raw protocol (a capacity-1 stream) and ack it
    with `result_json`; its id."""
    request = wpb.StreamJobsRequest(worker_id=worker_id, job_types=[job_type], capacity=1)
    call = client.stream_jobs(request)
    try:
        async for response in call:
            for job in response.jobs:
                ack = wpb.AckJobRequest(
                    job_id=job.job_id, lease_token=job.lease_token, result_json=result_json
                )
                (outcome,) = await client.ack_jobs([ack])
                assert outcome.code == wpb.OUTCOME_CODE_OK, outcome
                return job.job_id
    finally:
        call.cancel()
    raise AssertionError("the stream ended before a job arrived")


@contextmanager
def worker_stream(
    address: str, worker_id: str, defaults: list[wpb.JobTypeDefaults], types: tuple[str, ...] = ()
) -> Iterator[None]:
    """A raw StreamJobs call (capacity 1) for `types` (default: the types of
    `defaults`), open and registered until the block ends."""
    with grpc.insecure_channel(address) as channel:
        request = wpb.StreamJobsRequest(
            worker_id=worker_id,
            job_types=list(types) or [d.type for d in defaults],
            capacity=1,
            type_defaults=defaults,
        )
        call = worker_service_pb2_grpc.WorkerServiceStub(channel).StreamJobs(request)
        next(call)  # the empty first message: the stream is open and registered
        try:
            yield
        finally:
            call.cancel()
