"""The shared SubmitJobStream under `Client.submit_job` (threads) and
`AsyncClient.submit_job` (tasks): one message per job instead of one unary call.

The stream opens on the first submit, is shared by every caller, and a new one opens
after it breaks. The retry contract is the unary path's: a request the stream never
handed to grpc is sent again on a new stream (as grpc retries a unary call that never
left); one that was sent when the stream broke fails with the error a unary call would
have raised (ConnectionFailed for a lost connection), since the broker may have
written it. A broker without SubmitJobStream (UNIMPLEMENTED) switches the client to
unary SubmitJob for good, resending what was waiting. A stopping broker ends its
streams with OK after answering every request it read: what is still waiting then was
never processed and is resent too.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import grpc
from gopher.v1 import job_service_pb2 as pb

from gopher_client._errors import ConnectionFailed, GopherError, from_rpc_error, from_status

Metadata = tuple[tuple[str, str], ...]


class Resend(GopherError):
    """The request never reached the broker: send it again (internal)."""


class StreamUnsupported(Resend):
    """The broker has no SubmitJobStream: use unary SubmitJob (internal)."""


def _outcome(answer: pb.SubmitJobStreamResponse) -> pb.SubmitJobResponse | GopherError:
    if answer.HasField("error"):
        return from_status(answer.error)  # type: ignore[arg-type]  # same fields as google.rpc.Status
    return answer.job


def _break_error(error: BaseException | None) -> tuple[GopherError, bool]:
    """What the requests still waiting on a stream that ended with `error` fail with,
    and whether the broker is known to have processed none of them (so all may be
    sent again)."""
    if isinstance(error, grpc.RpcError):
        code = error.code()
        if code == grpc.StatusCode.UNIMPLEMENTED:
            return StreamUnsupported(), True
        if code == grpc.StatusCode.CANCELLED:  # cut by the broker
            return ConnectionFailed(f"UNAVAILABLE: the submit stream was cut: {error}"), False
        return from_rpc_error(error), False
    # Ended with OK: the broker is stopping and answered every request it read.
    return ConnectionFailed("UNAVAILABLE: the broker ended the submit stream"), True


def _stranded(failure: GopherError, unprocessed: bool, sent: bool) -> GopherError:
    """The outcome of a request left waiting when its stream ended with `failure`:
    StreamUnsupported or Resend (send it again), else `failure` itself. A refusal of
    the whole stream (a bad token) answers every waiting request; a lost stream lets
    the requests never handed to grpc go out again."""
    if isinstance(failure, StreamUnsupported):
        return failure
    if unprocessed or (not sent and isinstance(failure, ConnectionFailed)):
        return Resend()
    return failure


class _Pending:
    """One request waiting for its answer."""

    __slots__ = ("done", "outcome", "request", "sent")

    def __init__(self, request: pb.SubmitJobRequest) -> None:
        self.request = request
        self.sent = False
        self.done = threading.Event()
        self.outcome: pb.SubmitJobResponse | GopherError | None = None


class _SyncLine:
    """One open stream: a grpc thread pulls requests from `outbox`, a reader thread
    resolves answers by sequence id."""

    def __init__(self, start: Callable[..., Any], metadata: Metadata) -> None:
        self.outbox: queue.SimpleQueue[tuple[int, _Pending] | None] = queue.SimpleQueue()
        self.pending: dict[int, _Pending] = {}
        self.lock = threading.Lock()
        self.broken = False
        self.failure: GopherError | None = None  # why it broke, once it has
        self.ids = itertools.count(1)
        self.call = start(self._requests(), metadata=metadata)
        threading.Thread(target=self._read, daemon=True, name="gopher-submit-stream").start()

    def _requests(self) -> Iterator[pb.SubmitJobStreamRequest]:
        while (item := self.outbox.get()) is not None:
            sequence_id, pending = item
            pending.sent = True
            yield pb.SubmitJobStreamRequest(sequence_id=sequence_id, job=pending.request)

    def send(self, pending: _Pending) -> int | None:
        """Queue `pending`; its sequence id, or None when this stream is broken."""
        with self.lock:
            if self.broken:
                return None
            sequence_id = next(self.ids)
            self.pending[sequence_id] = pending
        self.outbox.put((sequence_id, pending))
        return sequence_id

    def forget(self, sequence_id: int) -> None:
        with self.lock:
            self.pending.pop(sequence_id, None)

    def _read(self) -> None:
        error: BaseException | None = None
        try:
            for answer in self.call:
                with self.lock:
                    pending = self.pending.pop(answer.sequence_id, None)
                if pending is not None:
                    pending.outcome = _outcome(answer)
                    pending.done.set()
        except grpc.RpcError as exc:
            error = exc
        failure, unprocessed = _break_error(error)
        with self.lock:
            self.broken, self.failure = True, failure
            stranded, self.pending = list(self.pending.values()), {}
        self.outbox.put(None)
        for pending in stranded:
            pending.outcome = _stranded(failure, unprocessed, pending.sent)
            pending.done.set()

    def close(self) -> None:
        self.outbox.put(None)
        self.call.cancel()


class SyncSubmitStream:
    """`Client`'s shared submit stream; thread-safe."""

    def __init__(self, start: Callable[..., Any], metadata: Callable[[], Metadata]) -> None:
        self.start = start
        self.metadata = metadata
        self.lock = threading.Lock()
        self.line: _SyncLine | None = None
        self.closed = False

    def _open(self) -> _SyncLine:
        with self.lock:
            if self.closed:
                raise ConnectionFailed("UNAVAILABLE: the client is closed")
            if self.line is None or self.line.broken:
                self.line = _SyncLine(self.start, self.metadata())
            return self.line

    def submit(self, request: pb.SubmitJobRequest, timeout_s: float) -> pb.SubmitJobResponse:
        """Submit over the stream and return the answer, raising as SubmitJob would.
        Raises StreamUnsupported when the broker has no stream."""
        for _ in range(3):  # a broken stream is replaced; a never-sent request resent
            line, pending = self._open(), _Pending(request)
            sequence_id = line.send(pending)
            if sequence_id is None:  # it broke before taking this request
                if isinstance(line.failure, ConnectionFailed):
                    continue
                assert line.failure is not None
                raise line.failure  # refused (a bad token), or no stream on this broker

            if not pending.done.wait(timeout_s):
                line.forget(sequence_id)
                raise ConnectionFailed(f"DEADLINE_EXCEEDED: no answer within {timeout_s:g}s")
            outcome = pending.outcome
            if isinstance(outcome, StreamUnsupported):
                raise outcome
            if isinstance(outcome, Resend):
                continue
            if isinstance(outcome, GopherError):
                raise outcome
            assert outcome is not None
            return outcome
        raise ConnectionFailed("UNAVAILABLE: the submit stream kept breaking")

    def close(self) -> None:
        with self.lock:
            self.closed = True
            if self.line is not None:
                self.line.close()


class _AsyncLine:
    """One open stream on grpc.aio: a reader task resolves answers by sequence id."""

    def __init__(self, start: Callable[..., Any], metadata: Metadata) -> None:
        self.outbox: asyncio.Queue[tuple[int, pb.SubmitJobRequest, list[bool]] | None] = (
            asyncio.Queue()
        )
        self.pending: dict[int, tuple[asyncio.Future[Any], list[bool]]] = {}
        self.broken = False
        self.ids = itertools.count(1)
        self.call = start(self._requests(), metadata=metadata)
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _requests(self) -> AsyncIterator[pb.SubmitJobStreamRequest]:
        while (item := await self.outbox.get()) is not None:
            sequence_id, request, sent = item
            sent[0] = True
            yield pb.SubmitJobStreamRequest(sequence_id=sequence_id, job=request)

    def send(self, request: pb.SubmitJobRequest) -> tuple[int, asyncio.Future[Any]]:
        sequence_id, sent = next(self.ids), [False]
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[sequence_id] = (future, sent)
        self.outbox.put_nowait((sequence_id, request, sent))
        return sequence_id, future

    async def _read(self) -> None:
        error: BaseException | None = None
        try:
            async for answer in self.call:
                entry = self.pending.pop(answer.sequence_id, None)
                if entry is not None and not entry[0].done():
                    entry[0].set_result(_outcome(answer))
        except grpc.RpcError as exc:
            error = exc
        self.broken = True
        stranded, self.pending = list(self.pending.values()), {}
        self.outbox.put_nowait(None)
        failure, unprocessed = _break_error(error)
        for future, sent in stranded:
            if not future.done():
                future.set_result(_stranded(failure, unprocessed, sent[0]))

    def close(self) -> None:
        self.outbox.put_nowait(None)
        self.call.cancel()


class AsyncSubmitStream:
    """`AsyncClient`'s shared submit stream, for tasks of one event loop."""

    def __init__(self, start: Callable[..., Any], metadata: Callable[[], Metadata]) -> None:
        self.start = start
        self.metadata = metadata
        self.line: _AsyncLine | None = None
        self.closed = False

    async def submit(self, request: pb.SubmitJobRequest, timeout_s: float) -> pb.SubmitJobResponse:
        """Submit over the stream and return the answer, raising as SubmitJob would.
        Raises StreamUnsupported when the broker has no stream."""
        for _ in range(3):
            if self.closed:
                raise ConnectionFailed("UNAVAILABLE: the client is closed")
            if self.line is None or self.line.broken:
                self.line = _AsyncLine(self.start, self.metadata())
            line = self.line
            sequence_id, future = line.send(request)
            try:
                async with asyncio.timeout(timeout_s):
                    outcome = await future
            except TimeoutError:
                line.pending.pop(sequence_id, None)
                raise ConnectionFailed(
                    f"DEADLINE_EXCEEDED: no answer within {timeout_s:g}s"
                ) from None
            if isinstance(outcome, StreamUnsupported):
                raise outcome
            if isinstance(outcome, Resend):
                continue
            if isinstance(outcome, GopherError):
                raise outcome
            return outcome
        raise ConnectionFailed("UNAVAILABLE: the submit stream kept breaking")

    def close(self) -> None:
        self.closed = True
        if self.line is not None:
            self.line.close()
