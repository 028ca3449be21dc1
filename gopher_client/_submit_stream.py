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

The sync side has no reader thread between the stream and its callers: a caller waiting
for its answer while nobody reads the stream reads it itself (it leads), routing each
answer it reads to the request it belongs to by sequence id, until its own is in, its
deadline passes, or the stream ends. Leaving, it wakes one caller still waiting to read
on, so an answer never sits unread while someone waits for it. A loop of submits from
one thread thus hands nothing between threads on the answer path (a thread hop costs
about 15% of one-at-a-time throughput). A deadline must hold for a leader too, so it
reads with a bounded wait on grpc's call object (see _CallReceiver); a call that is not
grpc's own (an intercepted channel) is read by a thread and handed over a queue, with
the same leadership on top.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import queue
import threading
import time
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


class _Ended:
    """The stream's end as a receiver reports it: `error` is None for OK."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


Received = pb.SubmitJobStreamResponse | _Ended | None  # None: nothing within the wait


# grpc's sync response iterator (_MultiThreadedRendezvous) only offers a `next()` that
# blocks until a message or the end, which a caller with a deadline cannot afford. Its
# `_next` is: ask the core for one message, then wait on the call's condition for the
# channel's poller thread to deliver it. _CallReceiver does the same with a bounded
# wait, using these internals; when they are missing (another grpc) or the call is not
# a rendezvous (an intercepted channel), _PumpReceiver reads with a thread instead.
_grpc_channel: Any = importlib.import_module("grpc._channel")
_cygrpc: Any = getattr(_grpc_channel, "cygrpc", None)
_RECEIVE: Any = getattr(getattr(_cygrpc, "OperationType", None), "receive_message", None)
_WAIT_INTERNALS = (
    all(
        hasattr(_grpc_channel, name)
        for name in ("_MultiThreadedRendezvous", "_event_handler", "_EMPTY_FLAGS")
    )
    and hasattr(_cygrpc, "ReceiveMessageOperation")
    and _RECEIVE is not None
)


class _CallReceiver:
    """Reads a grpc rendezvous with a bounded wait, on the caller's own thread. A wait
    that runs out leaves the asked-for message to the next `receive`: only one read is
    ever outstanding, as grpc requires."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self.state = call._state

    def _ready(self) -> bool:
        state = self.state
        return state.response is not None or (_RECEIVE not in state.due and state.code is not None)

    def _ask(self) -> None:
        state = self.state
        # As grpc's own _next: `due` holds the read before the core can complete it.
        state.due.add(_RECEIVE)
        handler = _grpc_channel._event_handler(state, self.call._response_deserializer)
        operation = _cygrpc.ReceiveMessageOperation(_grpc_channel._EMPTY_FLAGS)
        if not self.call._call.operate((operation,), handler):
            state.due.remove(_RECEIVE)

    def receive(self, timeout_s: float) -> Received:
        state = self.state
        with state.condition:
            if state.response is None and _RECEIVE not in state.due and state.code is None:
                self._ask()
            if not state.condition.wait_for(self._ready, timeout_s):
                return None
            if state.response is not None:
                response, state.response = state.response, None
                return response
            return _Ended(None if state.code is grpc.StatusCode.OK else self.call)


class _PumpReceiver:
    """Reads any response iterator with a thread, handing messages over a queue."""

    def __init__(self, call: Iterator[pb.SubmitJobStreamResponse]) -> None:
        self.inbox: queue.SimpleQueue[pb.SubmitJobStreamResponse | _Ended] = queue.SimpleQueue()
        threading.Thread(
            target=self._pump, args=(call,), daemon=True, name="gopher-submit-stream"
        ).start()

    def _pump(self, call: Iterator[pb.SubmitJobStreamResponse]) -> None:
        try:
            for answer in call:
                self.inbox.put(answer)
        except grpc.RpcError as exc:
            self.inbox.put(_Ended(exc))
        else:
            self.inbox.put(_Ended(None))

    def receive(self, timeout_s: float) -> Received:
        try:
            return self.inbox.get(timeout=timeout_s)
        except queue.Empty:
            return None


def _receiver(call: Any) -> _CallReceiver | _PumpReceiver:
    if _WAIT_INTERNALS and isinstance(call, _grpc_channel._MultiThreadedRendezvous):
        return _CallReceiver(call)
    return _PumpReceiver(call)


class _Pending:
    """One request waiting for its answer. `wake` is set when the answer (or the
    stream's end) is in `outcome`, or when its caller should take over reading."""

    __slots__ = ("outcome", "request", "sent", "wake")

    def __init__(self, request: pb.SubmitJobRequest) -> None:
        self.request = request
        self.sent = False
        self.wake = threading.Event()
        self.outcome: pb.SubmitJobResponse | GopherError | None = None


class _SyncLine:
    """One open stream: a grpc thread pulls requests from `outbox`; answers are read by
    whichever waiting caller holds the leadership (`reading`), who resolves them by
    sequence id."""

    def __init__(self, start: Callable[..., Any], metadata: Metadata) -> None:
        self.outbox: queue.SimpleQueue[tuple[int, _Pending] | None] = queue.SimpleQueue()
        self.pending: dict[int, _Pending] = {}
        self.lock = threading.Lock()
        self.reading = False  # a caller is reading the stream
        self.broken = False
        self.failure: GopherError | None = None  # why it broke, once it has
        self.ids = itertools.count(1)
        self.call = start(self._requests(), metadata=metadata)
        self.receiver = _receiver(self.call)

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

    def wait(
        self, sequence_id: int, pending: _Pending, timeout_s: float
    ) -> pb.SubmitJobResponse | GopherError | None:
        """The outcome of the request sent as `sequence_id`, or None after `timeout_s`.
        Reads the stream itself whenever nobody else is."""
        deadline = time.monotonic() + timeout_s
        led = False
        try:
            while True:
                with self.lock:
                    if pending.outcome is not None:
                        return pending.outcome
                    if not self.reading:
                        self.reading = led = True
                    else:
                        pending.wake.clear()  # under the lock: no wake is lost
                if led:
                    self._lead(pending, deadline)
                    return pending.outcome
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not pending.wake.wait(remaining):
                    return None
        finally:
            self._leave(sequence_id, led)

    def _lead(self, pending: _Pending, deadline: float) -> None:
        """Read and route answers until `pending`'s own is in, the stream ends, or
        the deadline passes."""
        while pending.outcome is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            received = self.receiver.receive(remaining)
            if received is None:
                return
            if isinstance(received, _Ended):
                self._break(received.error)
                return
            self._route(received)

    def _route(self, answer: pb.SubmitJobStreamResponse) -> None:
        with self.lock:
            # None for a request whose caller gave up waiting: its answer is dropped.
            pending = self.pending.pop(answer.sequence_id, None)
            if pending is not None:
                pending.outcome = _outcome(answer)
        if pending is not None:
            pending.wake.set()

    def _leave(self, sequence_id: int, led: bool) -> None:
        """Forget `sequence_id`, and, if nobody reads now, wake a waiting caller to:
        an answer must never sit unread while someone waits for it."""
        with self.lock:
            self.pending.pop(sequence_id, None)
            if led:
                self.reading = False
            successor = None if self.reading else next(iter(self.pending.values()), None)
        if successor is not None:
            successor.wake.set()

    def _break(self, error: BaseException | None) -> None:
        failure, unprocessed = _break_error(error)
        with self.lock:
            self.broken, self.failure = True, failure
            stranded, self.pending = list(self.pending.values()), {}
            for pending in stranded:
                pending.outcome = _stranded(failure, unprocessed, pending.sent)
        self.outbox.put(None)
        for pending in stranded:
            pending.wake.set()

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

            outcome = line.wait(sequence_id, pending, timeout_s)
            if outcome is None:
                raise ConnectionFailed(f"DEADLINE_EXCEEDED: no answer within {timeout_s:g}s")
            if isinstance(outcome, StreamUnsupported):
                raise outcome
            if isinstance(outcome, Resend):
                continue
            if isinstance(outcome, GopherError):
                raise outcome
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
