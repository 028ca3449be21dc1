"""The delivery stream on its own, with fake streams: messages reach the worker in
order, readiness follows the stream, and a broken stream is reopened with backoff
that any delivered message resets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from functools import partial

import grpc
import pytest
from gopher.v1 import job_pb2
from gopher.v1 import worker_service_pb2 as pb

from gopher_worker._receiver import FIRST_RETRY_S, RECONNECT_MAX_S, receive_jobs
from tests.worker.fakes import FakeStream

REQUEST = pb.StreamJobsRequest(worker_id="w1", job_types=["t"], capacity=4)


def broken(code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), "gone", None)


def jobs(*ids: str) -> pb.StreamJobsResponse:
    return pb.StreamJobsResponse(jobs=[job_pb2.LeasedJob(job_id=i) for i in ids])


class Harness:
    """receive_jobs with fake streams: each open takes the next stream; each backoff
    sleep is recorded and waits until the test lets it pass."""

    def __init__(self, streams: int) -> None:
        self.streams = [FakeStream() for _ in range(streams)]
        self.opened: list[pb.StreamJobsRequest] = []
        self.received: list[pb.StreamJobsResponse] = []
        self.sleeps: list[float] = []
        self.connected = asyncio.Event()
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()

    def open(self, request: pb.StreamJobsRequest) -> FakeStream:
        self.opened.append(request)
        self._changed.set()
        return self.streams[len(self.opened) - 1]

    def on_response(self, response: pb.StreamJobsResponse) -> None:
        self.received.append(response)
        self._changed.set()

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self._changed.set()
        await self._wake.wait()
        self._wake.clear()

    def has_opened(self, n: int) -> bool:
        return len(self.opened) >= n

    def has_slept(self, n: int) -> bool:
        return len(self.sleeps) >= n

    def let_retry(self) -> None:
        self._wake.set()

    async def until(self, condition: Callable[[], object], timeout_s: float = 5.0) -> None:
        async with asyncio.timeout(timeout_s):
            while not condition():
                self._changed.clear()
                await self._changed.wait()


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness(streams=8)
    task = asyncio.create_task(receive_jobs(h.open, REQUEST, h.on_response, h.connected, h.sleep))
    yield h
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_messages_reach_the_worker_in_order_and_mark_it_connected(
    harness: Harness,
) -> None:
    await harness.until(lambda: harness.opened)
    assert harness.opened == [REQUEST]
    assert not harness.connected.is_set()  # not before the broker's first message

    stream = harness.streams[0]
    stream.send(pb.StreamJobsResponse())  # the broker's "ready"
    stream.send(jobs("a", "b"))
    stream.send(pb.StreamJobsResponse(cancelled_job_ids=["a"]))
    await harness.until(lambda: len(harness.received) == 3)

    assert harness.connected.is_set()
    assert [j.job_id for j in harness.received[1].jobs] == ["a", "b"]
    assert list(harness.received[2].cancelled_job_ids) == ["a"]


async def test_a_broken_stream_clears_readiness_and_is_reopened_after_backoff(
    harness: Harness,
) -> None:
    await harness.until(lambda: harness.opened)
    first = harness.streams[0]
    first.send(pb.StreamJobsResponse())
    await harness.until(harness.connected.is_set)

    first.fail(broken(grpc.StatusCode.UNAVAILABLE))
    await harness.until(lambda: harness.sleeps)

    assert not harness.connected.is_set()
    assert first.cancelled
    assert len(harness.opened) == 1  # not before the backoff passed
    harness.let_retry()
    await harness.until(lambda: len(harness.opened) == 2)
    assert harness.opened[1] == REQUEST  # the same introduction, to whichever broker


async def test_backoff_doubles_to_its_cap_and_a_delivered_message_resets_it(
    harness: Harness,
) -> None:
    for n, stream in enumerate(harness.streams[:7], start=1):
        await harness.until(partial(harness.has_opened, n))
        stream.fail(broken(grpc.StatusCode.UNAVAILABLE))
        await harness.until(partial(harness.has_slept, n))
        harness.let_retry()
    expected = [min(FIRST_RETRY_S * 2**i, RECONNECT_MAX_S) for i in range(7)]
    assert harness.sleeps == pytest.approx(expected)
    assert harness.sleeps[-1] == RECONNECT_MAX_S

    await harness.until(lambda: len(harness.opened) == 8)
    last = harness.streams[7]
    last.send(pb.StreamJobsResponse())
    await harness.until(harness.connected.is_set)
    last.end()  # the broker closed it cleanly
    await harness.until(lambda: len(harness.sleeps) == 8)
    assert harness.sleeps[-1] == FIRST_RETRY_S


async def test_a_refused_worker_keeps_retrying_rather_than_crashing(harness: Harness) -> None:
    await harness.until(lambda: harness.opened)
    harness.streams[0].fail(broken(grpc.StatusCode.INVALID_ARGUMENT))
    await harness.until(lambda: harness.sleeps)
    harness.let_retry()
    await harness.until(lambda: len(harness.opened) == 2)
    assert not harness.connected.is_set()
