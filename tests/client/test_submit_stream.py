"""submit_job over the shared SubmitJobStream: the same answers, errors and guarantees
as unary SubmitJob, against a real broker and Redis."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
import redis
from gopher.v1 import job_service_pb2 as pb
from gopher.v1 import job_service_pb2_grpc

from gopher_client import (
    AsyncClient,
    Client,
    ConnectionFailed,
    InvalidArgument,
)
from gopher_server.store.keys import Keys
from tests.support import BrokerThread

Factory = Callable[..., BrokerThread]
KEYS = Keys("gopher")


def _refusal(client: Client, options: dict[str, Any]) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        client.submit_job("email", **options)
    return caught.value


def test_an_answered_submit_is_in_redis(broker: BrokerThread, redis_url: str) -> None:
    db = redis.Redis.from_url(redis_url)
    with Client(broker.address) as client:
        for i in range(20):
            job_id = client.submit_job("email", {"i": i})
            # Read right after the answer: the job hash is already written.
            assert db.hget(KEYS.job(job_id), "type") == b"email"


def test_a_refused_request_answers_like_unary_and_the_stream_goes_on(
    broker: BrokerThread,
) -> None:
    with Client(broker.address) as stream, Client(broker.address, submit_stream=False) as unary:
        line = None
        bad_options: list[dict[str, Any]] = [{"retries": 101}, {"payload": "[1]"}, {"delay_s": -1}]
        for bad in bad_options:
            got, want = _refusal(stream, bad), _refusal(unary, bad)
            assert (got.code, got.message, got.field) == (want.code, want.message, want.field)
            assert got.field  # the BadRequest detail came through
            assert stream._stream is not None and stream._stream.line is not None
            line = line or stream._stream.line
            assert stream._stream.line is line  # the same stream, not a new one
        assert stream.submit_job("email", {"ok": 1})
        assert stream._stream is not None and stream._stream.line is line


def test_the_raw_stream_answers_each_request_by_sequence_id(broker: BrokerThread) -> None:
    requests = [
        pb.SubmitJobStreamRequest(sequence_id=7, job=pb.SubmitJobRequest(type="email")),
        pb.SubmitJobStreamRequest(sequence_id=8, job=pb.SubmitJobRequest(type="bad type")),
        pb.SubmitJobStreamRequest(sequence_id=9, job=pb.SubmitJobRequest(type="sms")),
    ]
    with grpc.insecure_channel(broker.address) as channel:
        answers = list(job_service_pb2_grpc.JobServiceStub(channel).SubmitJobStream(iter(requests)))
    by_id = {a.sequence_id: a for a in answers}
    assert sorted(by_id) == [7, 8, 9]
    assert by_id[7].job.job_id and by_id[9].job.job_id
    assert by_id[8].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert by_id[8].error.details  # BadRequest naming the field


def test_a_message_that_does_not_decode_ends_the_stream_as_invalid_argument(
    broker: BrokerThread,
) -> None:
    good = pb.SubmitJobStreamRequest(sequence_id=1, job=pb.SubmitJobRequest(type="email"))
    with grpc.insecure_channel(broker.address) as channel:
        stream = channel.stream_stream("/gopher.v1.JobService/SubmitJobStream", None, None)
        answers = []
        with pytest.raises(grpc.RpcError) as caught:
            for raw in stream(iter([good.SerializeToString(), b"\xff\xff\xff"]), timeout=10):
                answers.append(pb.SubmitJobStreamResponse.FromString(raw))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "does not decode" in (caught.value.details() or "")
    # The request read before the bad one was answered before the call ended.
    assert [a.sequence_id for a in answers] == [1] and answers[0].job.job_id


def test_threads_sharing_one_client_get_their_own_answers(
    broker: BrokerThread, redis_url: str
) -> None:
    db = redis.Redis.from_url(redis_url)
    answers: dict[tuple[int, int], str] = {}
    errors: list[BaseException] = []
    with Client(broker.address) as client:

        def submit(thread: int) -> None:
            try:
                for i in range(40):
                    answers[(thread, i)] = client.submit_job(
                        "email", {"t": thread, "i": i}, idempotency_key=f"k-{thread}-{i}"
                    )
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=submit, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert not errors
    assert len(set(answers.values())) == 8 * 40
    for (thread, i), job_id in answers.items():
        # Each answer names the job its own request created: no cross-talk.
        stored = db.hget(KEYS.job(job_id), "payload")
        assert stored is not None and json.loads(stored) == {"t": thread, "i": i}


def test_an_idempotent_repeat_is_a_duplicate_and_warnings_come_through(
    broker: BrokerThread,
) -> None:
    request = pb.SubmitJobRequest(type="nobody-handles-this", idempotency_key="once")
    with Client(broker.address) as client:
        first, again = client.submit(request), client.submit(request)
    assert not first.duplicate and again.duplicate and again.job_id == first.job_id
    assert first.warnings and "nobody-handles-this" in first.warnings[0]


async def test_async_client_submits_over_the_stream(broker: BrokerThread, redis_url: str) -> None:
    db = redis.Redis.from_url(redis_url)
    async with AsyncClient(broker.address) as client:
        ids = await asyncio.gather(*(client.submit_job("email", {"i": i}) for i in range(50)))
        with pytest.raises(InvalidArgument) as caught:
            await client.submit_job("email", retries=101)
        assert caught.value.field == "retries"
        one = await client.submit_job("email")
        assert client._stream is not None and client._stream.line is not None
    assert len(set([*ids, one])) == 51
    assert all(db.exists(KEYS.job(job_id)) for job_id in [*ids, one])


def test_a_broker_restart_fails_only_the_calls_meanwhile(
    broker_factory: Factory, redis_url: str
) -> None:
    first = broker_factory()
    port = int(first.address.rsplit(":", 1)[1])
    db = redis.Redis.from_url(redis_url)
    with Client(first.address, timeout_s=5.0) as client:
        before = client.submit_job("email")
        first.stop()
        # Down: the same error a unary call gives, and nothing is retried behind it.
        with pytest.raises(ConnectionFailed):
            client.submit_job("email")
        broker_factory(port=port)
        # Back: the next submit opens a new stream (grpc reconnects within ~2 s).
        after = None
        for _ in range(50):
            try:
                after = client.submit_job("email")
                break
            except ConnectionFailed:
                threading.Event().wait(0.1)
    assert after is not None and db.exists(KEYS.job(before)) and db.exists(KEYS.job(after))


class _OlderBroker(job_service_pb2_grpc.JobServiceServicer):
    """A JobService from before SubmitJobStream: the stream answers UNIMPLEMENTED."""

    def __init__(self) -> None:
        self.unary_submits = 0

    def SubmitJob(self, request: pb.SubmitJobRequest, context: Any) -> pb.SubmitJobResponse:
        self.unary_submits += 1
        return pb.SubmitJobResponse(job_id=f"old-{self.unary_submits}")


def test_a_broker_without_the_stream_gets_unary_submits() -> None:
    older = _OlderBroker()
    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    job_service_pb2_grpc.add_JobServiceServicer_to_server(older, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with Client(f"127.0.0.1:{port}") as client:
            assert client.submit_job("email") == "old-1"  # resent as unary, not lost
            assert client.submit_job("email") == "old-2"
            assert client._stream is None  # unary from then on
    finally:
        server.stop(None)
    assert older.unary_submits == 2


def test_a_stopping_broker_ends_its_submit_streams_instead_of_waiting_out_the_grace(
    broker_factory: Factory, redis_url: str
) -> None:
    broker = broker_factory(shutdown_grace_s=60.0)
    db = redis.Redis.from_url(redis_url)
    with Client(broker.address, timeout_s=5.0) as client:
        job_id = client.submit_job("email")  # the stream is open and idle now
        stopper = threading.Thread(target=broker.stop)
        stopper.start()
        stopper.join(30)
        # Far less than the 60 s grace: the broker ended the stream itself.
        assert not stopper.is_alive()
        with pytest.raises(ConnectionFailed):
            client.submit_job("email")
    assert db.exists(KEYS.job(job_id))


async def test_async_client_opens_a_new_stream_after_a_broker_restart(
    broker_factory: Factory, redis_url: str
) -> None:
    first = broker_factory()
    port = int(first.address.rsplit(":", 1)[1])
    db = redis.Redis.from_url(redis_url)
    async with AsyncClient(first.address, timeout_s=5.0) as client:
        before = await client.submit_job("email")
        await asyncio.to_thread(first.stop)
        with pytest.raises(ConnectionFailed):
            await client.submit_job("email")
        await asyncio.to_thread(broker_factory, port=port)
        after = None
        for _ in range(50):
            try:
                after = await client.submit_job("email")
                break
            except ConnectionFailed:
                await asyncio.sleep(0.1)  # grpc reconnects with backoff (at most 2 s)
    assert after is not None and db.exists(KEYS.job(before)) and db.exists(KEYS.job(after))
