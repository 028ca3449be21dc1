"""The sync submit stream's leader-reads scheme: a waiting caller reads the stream
itself, routes the answers it reads to their callers, and hands the reading on when it
leaves. Against a real broker for volume, and against a steerable SubmitJobStream that
withholds answers or ends the stream on the test's command."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import grpc
import pytest
import redis
from gopher.v1 import job_service_pb2 as pb
from gopher.v1 import job_service_pb2_grpc

from gopher_client import Client, ConnectionFailed
from gopher_client._submit_stream import SyncSubmitStream
from gopher_server.store.keys import Keys
from tests.support import BrokerThread

KEYS = Keys("gopher")
WAIT_S = 10.0  # the most any condition below may take before the test fails

Answer = pb.SubmitJobStreamResponse | grpc.StatusCode | None  # None: end the stream (OK)


def _until(condition: Callable[[], bool], what: str) -> None:
    """Wait for a condition that the code under test makes true on another thread."""
    deadline = time.monotonic() + WAIT_S
    pause = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        pause.wait(0.005)


class _SteeredBroker:
    """A SubmitJobStream that answers each job at once with job_id '<type>-<key>' (its
    type and idempotency key), except jobs of type 'held', kept while `holding` until
    the test releases them, oldest first."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.holding = True
        self.held: list[tuple[queue.SimpleQueue[Answer], pb.SubmitJobStreamRequest]] = []
        self.streams: list[queue.SimpleQueue[Answer]] = []
        self.server = grpc.server(ThreadPoolExecutor(max_workers=8))
        handler = grpc.method_handlers_generic_handler(
            "gopher.v1.JobService",
            {
                "SubmitJobStream": grpc.stream_stream_rpc_method_handler(
                    self._stream,
                    request_deserializer=pb.SubmitJobStreamRequest.FromString,
                    response_serializer=pb.SubmitJobStreamResponse.SerializeToString,
                )
            },
        )
        self.server.add_generic_rpc_handlers((handler,))
        self.address = f"127.0.0.1:{self.server.add_insecure_port('127.0.0.1:0')}"
        self.server.start()

    def _stream(
        self, requests: Iterator[pb.SubmitJobStreamRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.SubmitJobStreamResponse]:
        answers: queue.SimpleQueue[Answer] = queue.SimpleQueue()
        with self.lock:
            self.streams.append(answers)
        threading.Thread(target=self._take, args=(requests, answers), daemon=True).start()
        while (answer := answers.get()) is not None:
            if isinstance(answer, grpc.StatusCode):
                context.abort(answer, "ended by the test")
            yield answer

    def _take(
        self, requests: Iterator[pb.SubmitJobStreamRequest], answers: queue.SimpleQueue[Answer]
    ) -> None:
        try:
            for request in requests:
                with self.lock:
                    if request.job.type == "held" and self.holding:
                        self.held.append((answers, request))
                        self.lock.notify_all()
                        continue
                answers.put(_answer(request))
        except grpc.RpcError:
            pass  # the client cut the stream

    def wait_held(self, count: int) -> None:
        with self.lock:
            assert self.lock.wait_for(lambda: len(self.held) >= count, WAIT_S)

    def release(self) -> None:
        with self.lock:
            answers, request = self.held.pop(0)
        answers.put(_answer(request))

    def end(self, code: grpc.StatusCode | None) -> None:
        """End the newest stream: with `code`, or with OK after forgetting what it holds."""
        with self.lock:
            self.holding = code is not None
            self.held.clear()
            self.streams[-1].put(code)

    def stop(self) -> None:
        with self.lock:
            streams = list(self.streams)
        for answers in streams:  # ends handlers left waiting, whose threads would block exit
            answers.put(None)
        self.server.stop(None)


def _answer(request: pb.SubmitJobStreamRequest) -> pb.SubmitJobStreamResponse:
    job_id = f"{request.job.type}-{request.job.idempotency_key}"
    return pb.SubmitJobStreamResponse(
        sequence_id=request.sequence_id, job=pb.SubmitJobResponse(job_id=job_id)
    )


def _job(job_type: str, key: str) -> pb.SubmitJobRequest:
    return pb.SubmitJobRequest(type=job_type, idempotency_key=key)


class _Wrapped:
    """A response stream as an intercepting channel returns it: iterable and
    cancellable, but not grpc's own call object."""

    def __init__(self, call: Any) -> None:
        self.call = call

    def __iter__(self) -> _Wrapped:
        return self

    def __next__(self) -> Any:
        return next(self.call)

    def cancel(self) -> bool:
        return bool(self.call.cancel())


if TYPE_CHECKING:  # generic only in the stubs
    _Interceptor = grpc.StreamStreamClientInterceptor[Any, Any]
else:
    _Interceptor = grpc.StreamStreamClientInterceptor


class _Wrapping(_Interceptor):
    def intercept_stream_stream(
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any:
        return _Wrapped(continuation(client_call_details, request_iterator))


@pytest.fixture
def steered() -> Iterator[_SteeredBroker]:
    broker = _SteeredBroker()
    yield broker
    broker.stop()


@pytest.fixture(params=["own thread", "reader thread"])
def stream(request: pytest.FixtureRequest, steered: _SteeredBroker) -> Iterator[SyncSubmitStream]:
    """The stream over grpc's call object (read on the callers' own threads) and over an
    intercepted call (read by a thread, the fallback): the scheme holds for both."""
    channel = grpc.insecure_channel(steered.address)
    if request.param == "reader thread":
        channel = grpc.intercept_channel(channel, _Wrapping())
    stub = job_service_pb2_grpc.JobServiceStub(channel)
    submit_stream = SyncSubmitStream(stub.SubmitJobStream, lambda: ())
    yield submit_stream
    submit_stream.close()
    channel.close()


def _reading(stream: SyncSubmitStream) -> bool:
    return stream.line is not None and stream.line.reading


def _lead_with(
    pool: ThreadPoolExecutor,
    stream: SyncSubmitStream,
    steered: _SteeredBroker,
    key: str,
    timeout_s: float,
) -> Future[pb.SubmitJobResponse]:
    """Start a held submit alone, so that its caller is the one reading the stream."""
    submit = pool.submit(stream.submit, _job("held", key), timeout_s)
    steered.wait_held(1)
    _until(lambda: _reading(stream), "the first caller to lead")
    return submit


def test_a_single_thread_reads_its_answers_itself(broker: BrokerThread) -> None:
    with Client(broker.address) as client:
        ids = [client.submit_job("email", {"i": i}) for i in range(50)]
        readers = [t for t in threading.enumerate() if t.name == "gopher-submit-stream"]
    assert len(set(ids)) == 50
    assert not readers  # no thread between the stream and the caller


def test_many_threads_submitting_at_once_get_their_own_jobs(
    broker: BrokerThread, redis_url: str
) -> None:
    threads, each = 8, 200
    with Client(broker.address) as client:

        def submit(thread: int) -> list[str]:
            return [client.submit_job("email", {"t": thread, "i": i}) for i in range(each)]

        with ThreadPoolExecutor(threads) as pool:
            ids = [job_id for batch in pool.map(submit, range(threads)) for job_id in batch]
    assert len(set(ids)) == threads * each
    pipe = redis.Redis.from_url(redis_url).pipeline(transaction=False)
    for job_id in ids:
        pipe.exists(KEYS.job(job_id))
    assert all(pipe.execute())


def test_a_leader_whose_answer_is_late_times_out_on_time_and_the_stream_goes_on(
    stream: SyncSubmitStream, steered: _SteeredBroker
) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectionFailed, match="DEADLINE_EXCEEDED"):
        stream.submit(_job("held", "late"), 0.3)
    assert time.monotonic() - started < 0.3 + 2.0
    line = stream.line
    steered.release()  # the late answer arrives now, for nobody
    assert stream.submit(_job("email", "next"), WAIT_S).job_id == "email-next"
    assert stream.line is line  # the same stream, its late answer dropped


def test_answers_a_leader_reads_reach_the_callers_they_belong_to(
    stream: SyncSubmitStream, steered: _SteeredBroker
) -> None:
    with ThreadPoolExecutor(4) as pool:
        leader = _lead_with(pool, stream, steered, "a", WAIT_S)
        others = [pool.submit(stream.submit, _job("email", str(i)), WAIT_S) for i in range(3)]
        assert [f.result(WAIT_S).job_id for f in others] == ["email-0", "email-1", "email-2"]
        assert not leader.done()  # still waiting for its own
        steered.release()
        assert leader.result(WAIT_S).job_id == "held-a"


def test_a_leader_given_its_answer_hands_the_reading_to_a_waiting_caller(
    stream: SyncSubmitStream, steered: _SteeredBroker
) -> None:
    with ThreadPoolExecutor(2) as pool:
        leader = _lead_with(pool, stream, steered, "a", WAIT_S)
        waiter = pool.submit(stream.submit, _job("held", "b"), WAIT_S)
        steered.wait_held(2)
        steered.release()
        assert leader.result(WAIT_S).job_id == "held-a"
        # b's answer comes after a's reader left: b must read it itself.
        _until(lambda: _reading(stream), "the waiting caller to take over")
        steered.release()
        assert waiter.result(WAIT_S).job_id == "held-b"


def test_a_leader_that_times_out_hands_the_reading_to_a_waiting_caller(
    stream: SyncSubmitStream, steered: _SteeredBroker
) -> None:
    with ThreadPoolExecutor(2) as pool:
        leader = _lead_with(pool, stream, steered, "a", 0.5)
        waiter = pool.submit(stream.submit, _job("held", "b"), WAIT_S)
        steered.wait_held(2)
        with pytest.raises(ConnectionFailed, match="DEADLINE_EXCEEDED"):
            leader.result(WAIT_S)
        steered.release()  # a's answer, now for nobody
        steered.release()
        assert waiter.result(WAIT_S).job_id == "held-b"


def test_a_stream_cut_under_a_leader_fails_every_waiting_caller(
    stream: SyncSubmitStream, steered: _SteeredBroker
) -> None:
    with ThreadPoolExecutor(2) as pool:
        leader = _lead_with(pool, stream, steered, "a", WAIT_S)
        waiter = pool.submit(stream.submit, _job("held", "b"), WAIT_S)
        steered.wait_held(2)
        line = stream.line
        steered.end(grpc.StatusCode.UNAVAILABLE)
        for submit in (leader, waiter):
            # Sent when the stream broke: the broker may have written them.
            with pytest.raises(ConnectionFailed, match="UNAVAILABLE"):
                submit.result(WAIT_S)
    assert line is not None and line.broken
    assert stream.submit(_job("email", "after"), WAIT_S).job_id == "email-after"
    assert stream.line is not line


def test_a_stream_ended_by_a_stopping_broker_under_a_leader_resends_what_waited(
    stream: SyncSubmitStream, steered: _SteeredBroker
) -> None:
    with ThreadPoolExecutor(2) as pool:
        leader = _lead_with(pool, stream, steered, "a", WAIT_S)
        waiter = pool.submit(stream.submit, _job("held", "b"), WAIT_S)
        steered.wait_held(2)
        line = stream.line
        steered.end(None)  # OK: the broker answered all it processed; these it did not
        assert leader.result(WAIT_S).job_id == "held-a"
        assert waiter.result(WAIT_S).job_id == "held-b"
    assert stream.line is not line


def test_closing_fails_the_leader_and_the_callers_waiting_behind_it(
    stream: SyncSubmitStream, steered: _SteeredBroker
) -> None:
    with ThreadPoolExecutor(2) as pool:
        leader = _lead_with(pool, stream, steered, "a", WAIT_S)
        waiter = pool.submit(stream.submit, _job("held", "b"), WAIT_S)
        steered.wait_held(2)
        stream.close()
        for submit in (leader, waiter):
            with pytest.raises(ConnectionFailed):
                submit.result(WAIT_S)
    with pytest.raises(ConnectionFailed, match="closed"):
        stream.submit(_job("email", "after"), WAIT_S)
