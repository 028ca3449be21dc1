"""SubmitJobStream: SubmitJob over one long-lived stream, one message per job.

Each request runs as its own task through the same code as SubmitJob
(`JobService.submit_one`), so validation, defaults, warnings, the hand-off to a parked
worker and "in Redis before the answer" are the same. Requests are processed as they
arrive, up to MAX_IN_FLIGHT at once; concurrent ones share Redis writes through the
store's auto-pipeline (one write per event-loop turn). A refused request gets its
status as an answer and the stream goes on; only the caller ending the stream (or
the broker stopping) ends it.

The handler uses grpc's reader/writer style: the task that produced an answer writes
it (`context.write`, one at a time under a lock), instead of handing it through a
queue to a response generator. For a caller sending one request at a time that saves
an event-loop hop and the generator layers per message (the interceptors' wrappers
included).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import redis.exceptions
from gopher.v1 import job_service_pb2 as pb

from gopher_server import errors
from gopher_server.auth.interceptor import UndecodableRequest, retry_status_proto
from gopher_server.auth.rate import SubmitRateLimiter, caller
from gopher_server.observability.trace_parent import stream_trace
from gopher_server.status import status_proto

log = logging.getLogger(__name__)
Context = grpc.aio.ServicerContext[Any, Any]
SubmitOne = Callable[[pb.SubmitJobRequest, str], Awaitable[pb.SubmitJobResponse]]
# Called once per answered message with its status code name and seconds taken.
Record = Callable[[str, float], None]
# Requests of one stream being processed at once; the stream stops reading beyond it,
# so a fast sender is slowed by flow control instead of growing the broker's memory.
MAX_IN_FLIGHT = 256
_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


class SubmitStream:
    """One SubmitJobStream call: reads requests, answers each as its submit finishes."""

    def __init__(
        self,
        submit_one: SubmitOne,
        limiter: SubmitRateLimiter | None,
        record: Record,
        stopping: asyncio.Event,
    ) -> None:
        self.submit_one = submit_one
        self.stopping = stopping
        self.record = record
        self.limiter = limiter
        self.identity = caller.get()  # set by the auth interceptor for this call
        self.slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self.tasks: set[asyncio.Task[None]] = set()
        # grpc takes one write at a time per call; answers finish in any order.
        self.writing = asyncio.Lock()

    async def serve(
        self, requests: AsyncIterator[pb.SubmitJobStreamRequest], context: Context
    ) -> None:
        """Answer every request, in completion order, until the caller closes its side
        and every answer is out."""
        trace = stream_trace(context)
        reader = asyncio.create_task(self._read(requests, trace, context))
        # When the broker stops, stop reading, answer what was read and end the stream
        # (status OK), so the server's stop does not wait out its grace for an idle
        # stream; the client knows any request left unanswered was never processed.
        stop_watch = asyncio.create_task(self.stopping.wait())
        stop_watch.add_done_callback(lambda _: reader.cancel())
        try:
            await reader  # re-raises a failed read (UndecodableRequest ends the call)
        finally:
            stop_watch.cancel()
            reader.cancel()
            for task in self.tasks:
                task.cancel()

    async def _read(
        self, requests: AsyncIterator[pb.SubmitJobStreamRequest], trace: str, context: Context
    ) -> None:
        try:
            async for request in requests:
                await self.slots.acquire()
                task = asyncio.create_task(self._answer(request, trace, context))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
        except asyncio.CancelledError:
            if not self.stopping.is_set():
                raise
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
        except UndecodableRequest:
            # The requests read before it are answered (one may be in Redis already: an
            # unanswered request must mean "never processed"), then the call ends.
            if self.tasks:
                await asyncio.gather(*list(self.tasks))
            raise
        if self.tasks:
            await asyncio.gather(*list(self.tasks))

    async def _answer(
        self, request: pb.SubmitJobStreamRequest, trace: str, context: Context
    ) -> None:
        started = time.perf_counter()
        try:
            answer = await self._outcome(request, trace)
            # The slot is held until the answer is out, so a caller that stops reading
            # is slowed by flow control rather than growing the broker's memory.
            async with self.writing:
                await context.write(answer)
        except Exception as exc:  # the call ended under us: nobody is left to answer
            log.debug("SubmitJobStream answer %d not sent: %r", request.sequence_id, exc)
            return
        finally:
            self.slots.release()
        code = _CODE_NAMES.get(answer.error.code, "UNKNOWN") if answer.HasField("error") else "OK"
        self.record(code, time.perf_counter() - started)

    async def _outcome(
        self, request: pb.SubmitJobStreamRequest, trace: str
    ) -> pb.SubmitJobStreamResponse:
        """The answer to one request: its submit's, or the status it was refused with."""
        answer = pb.SubmitJobStreamResponse(sequence_id=request.sequence_id)
        try:
            wait_s = self.limiter.take(self.identity) if self.limiter is not None else 0.0
            if wait_s > 0:
                _refuse(answer, retry_status_proto(wait_s, self.identity))
            else:
                answer.job.CopyFrom(await self.submit_one(request.job, trace))
        except errors.GopherServerError as error:
            _refuse(answer, status_proto(error))
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            log.warning("redis unavailable during SubmitJobStream: %s", exc)
            _refuse(answer, status_proto(errors.Unavailable(f"redis unavailable: {exc}")))
        except Exception:  # a bug answers INTERNAL for this request; the stream goes on
            log.exception("SubmitJobStream request %d failed", request.sequence_id)
            _refuse(answer, status_proto(errors.GopherServerError("internal error")))
        return answer


def _refuse(answer: pb.SubmitJobStreamResponse, status: Any) -> None:
    answer.error.code = status.code
    answer.error.message = status.message
    answer.error.details.extend(status.details)
