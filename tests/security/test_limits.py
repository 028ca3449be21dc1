"""Limits: payload, batch, gRPC message size, streams per worker, submit rate per token,
and job-type cardinality. Each refusal is a clear status and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import httpx
import pytest
import redis
from google.rpc import error_details_pb2
from gopher.v1 import job_service_pb2 as jobs_pb
from gopher.v1 import worker_service_pb2 as workers_pb
from gopher.v1 import worker_service_pb2_grpc
from grpc_status import rpc_status

from gopher_client import Client, LimitExceeded
from gopher_server.auth import SubmitRateLimiter
from tests.security.conftest import token
from tests.support import BrokerThread, until

Factory = Callable[..., BrokerThread]


def keys(url: str) -> set[bytes]:
    """Every key in the test database."""
    with redis.Redis.from_url(url) as r:
        return set(r.keys("*"))


def test_payload_over_the_limit(broker_factory: Factory, redis_url: str) -> None:
    broker = broker_factory(http_port=0, max_payload_bytes=1000)
    before = keys(redis_url)
    with Client(broker.address) as client, pytest.raises(LimitExceeded) as refused:
        client.submit_job("email", {"blob": "x" * 1000})
    assert refused.value.field == "payload_json" and "limit is 1000 bytes" in refused.value.message
    response = httpx.post(
        f"{broker.http_url}/api/jobs", json={"type": "t", "payload": {"b": "x" * 1000}}
    )
    assert response.status_code == 413, response.text
    assert keys(redis_url) == before


def test_batch_over_the_limit(broker_factory: Factory, redis_url: str) -> None:
    broker = broker_factory(http_port=0, max_batch=3)
    before = keys(redis_url)
    jobs = [jobs_pb.SubmitJobRequest(type="email") for _ in range(4)]
    with Client(broker.address) as client, pytest.raises(LimitExceeded) as refused:
        client.submit_jobs(jobs)
    assert refused.value.field == "jobs" and "batch limit is 3" in refused.value.message
    body = {"jobs": [{"type": "email"}] * 4}
    response = httpx.post(f"{broker.http_url}/api/jobs:batch", json=body)
    assert response.status_code in (413, 429), response.text
    assert response.json()["error"]["code"] == "resource_exhausted"
    assert keys(redis_url) == before


def test_grpc_message_over_the_limit(broker_factory: Factory, redis_url: str) -> None:
    broker = broker_factory(max_message_bytes=64 * 1024)
    before = keys(redis_url)
    with Client(broker.address) as client:
        with pytest.raises(LimitExceeded, match="larger than max"):
            client.submit_job("email", {"blob": "x" * 70_000})  # under the payload limit
        client.submit_job("email", {"blob": "x" * 60_000})
    assert len(keys(redis_url) - before) > 0  # the smaller one went through


async def _open_stream(channel: grpc.aio.Channel, worker_id: str) -> Any:
    stub = worker_service_pb2_grpc.WorkerServiceStub(channel)
    request = workers_pb.StreamJobsRequest(worker_id=worker_id, job_types=["t"], capacity=1)
    return stub.StreamJobs(request)


async def test_open_streams_per_worker_id(broker_factory: Factory) -> None:
    broker = broker_factory(max_streams_per_worker=2)
    assert broker.broker is not None
    hub = broker.broker._hub
    assert hub is not None

    async def streams_open(n: int) -> bool:
        return len(hub.sessions()) == n

    async with grpc.aio.insecure_channel(broker.address) as channel:
        first = await _open_stream(channel, "w1")
        second = await _open_stream(channel, "w1")
        await until(lambda: streams_open(2), what="two streams open")
        third = await _open_stream(channel, "w1")
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await third.read()
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "already has 2 open streams" in (refused.value.details() or "")
        other = await _open_stream(channel, "w2")  # the limit is per worker id
        await until(lambda: streams_open(3), what="another worker's stream")
        first.cancel()
        await until(lambda: streams_open(2), what="a stream closed")
        again = await _open_stream(channel, "w1")
        await until(lambda: streams_open(3), what="a stream reopened")
        for call in (second, other, again):
            call.cancel()


def test_rate_limiter_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = SubmitRateLimiter(2.0, burst=3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(0.5)
    assert limiter.take("b") == 0.0  # per identity
    now[0] = 0.5
    assert limiter.take("a") == 0.0
    assert limiter.take("a") == pytest.approx(0.5)
    now[0] = 100.0
    assert [limiter.take("a") for _ in range(4)][-1] > 0  # refills up to the burst only


def _retry_delay_s(error: grpc.RpcError) -> float:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return float(info.retry_delay.ToNanoseconds()) / 1e9
    raise AssertionError("no RetryInfo detail")


def test_submit_rate_per_token(broker_factory: Factory, tokens_file: Any, redis_url: str) -> None:
    broker = broker_factory(
        http_port=0, auth_tokens_file=str(tokens_file), submit_rate_per_s=0.01, submit_burst=2
    )
    submitter = (("authorization", f"Bearer {token('submitter')}"),)
    with grpc.insecure_channel(broker.address) as channel:
        submit = channel.unary_unary(
            "/gopher.v1.JobService/SubmitJob",
            request_serializer=jobs_pb.SubmitJobRequest.SerializeToString,
            response_deserializer=jobs_pb.SubmitJobResponse.FromString,
        )
        request = jobs_pb.SubmitJobRequest(type="email")
        ids = [submit(request, metadata=submitter).job_id for _ in range(2)]
        before = keys(redis_url)
        with pytest.raises(grpc.RpcError) as refused:
            submit(request, metadata=submitter)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert 0 < _retry_delay_s(refused.value) <= 100
        assert token("submitter") not in (refused.value.details() or "")
        assert keys(redis_url) == before
    with Client(broker.address, token=token("submitter")) as client:
        assert client.get_job(ids[0]).type == "email"  # only submits are limited
    with Client(broker.address, token=token("pipeline")) as client:
        client.submit_job("email")  # another token has its own allowance
    headers = {"authorization": f"Bearer {token('submitter')}"}
    response = httpx.post(f"{broker.http_url}/api/jobs", json={"type": "t"}, headers=headers)
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 100  # from the RetryInfo detail


async def test_type_cap_refuses_a_batch_atomically(store: Any, aredis: Any) -> None:
    """The store's cap (StoreSettings.max_job_types) checked by submit.lua for the whole
    batch before any write."""
    from dataclasses import replace

    from gopher_server.errors import TooLarge
    from gopher_server.store.records import NewJob

    store.settings = replace(store.settings, max_job_types=3)

    def job(n: int, job_type: str, idem: str = "") -> NewJob:
        return NewJob(
            id=f"job-{n}",
            type=job_type,
            priority="normal",
            payload="{}",
            retries=0,
            run_at_ms=0,
            idempotency_key=idem,
            timeout_ms=0,
            lease_ms=0,
            backoff_base_ms=None,
            backoff_factor=None,
            backoff_max_ms=None,
            trace="",
        )

    await store.submit([job(1, "a"), job(2, "b", idem="k")])
    before = set(await aredis.keys("*"))
    with pytest.raises(TooLarge, match=r"at most 3; this would add 2") as refused:
        await store.submit([job(3, "a"), job(4, "c"), job(5, "d")])
    assert refused.value.field == "type"
    assert set(await aredis.keys("*")) == before  # not even job-3 of a known type
    await store.submit([job(6, "a"), job(7, "c"), job(8, "b", idem="k")])  # 3 types: fits
    with pytest.raises(TooLarge):
        await store.submit([job(9, "d")])
    await store.submit([job(10, "a"), job(11, "b")])  # known types stay open
    assert await aredis.scard(store.keys.known_types()) == 3


def test_type_cap_over_grpc(broker_factory: Factory, redis_url: str) -> None:
    broker = broker_factory(max_job_types=2)
    with Client(broker.address) as client:
        client.submit_job("a")
        client.submit_job("b")
        before = keys(redis_url)
        with pytest.raises(LimitExceeded) as refused:
            client.submit_job("c")
    assert refused.value.field == "type"
    assert keys(redis_url) == before
