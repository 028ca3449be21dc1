"""Submit through gRPC: bad input is refused with the right status, naming the field,
and writes nothing to Redis; idempotency keys dedupe across calls and within a batch."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
import redis
from gopher.v1 import job_pb2, job_service_pb2

from gopher_client import Client, InvalidArgument, JobState, LimitExceeded
from gopher_server.store.keys import Keys
from tests.support import BrokerThread

KEYS = Keys()
PAYLOAD_LIMIT = 2048


def request(**fields: Any) -> job_service_pb2.SubmitJobRequest:
    """A SubmitJobRequest of type "email" with `fields` set."""
    fields.setdefault("type", "email")
    return job_service_pb2.SubmitJobRequest(**fields)


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    """A blocking Redis client on the test database."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def client(broker_factory: Callable[..., BrokerThread]) -> Iterator[Client]:
    """A client of a broker with a small payload limit and batch limit."""
    broker = broker_factory(max_payload_bytes=PAYLOAD_LIMIT, max_batch=5)
    with Client(broker.address) as c:
        yield c


def snapshot(raw: redis.Redis) -> tuple[int, set[str]]:
    """DBSIZE and every key name."""
    return int(raw.dbsize()), set(raw.scan_iter(match="*"))


def job_keys(raw: redis.Redis) -> list[str]:
    return list(raw.scan_iter(match=KEYS.job("*")))


BAD_REQUESTS: list[tuple[str, dict[str, Any], str]] = [
    ("bad type", {"type": "no spaces"}, "type"),
    ("bad priority", {"priority": 7}, "priority"),
    ("retries over 100", {"retries": 101}, "retries"),
    ("payload not an object", {"payload_json": "[]"}, "payload_json"),
    ("payload not JSON", {"payload_json": "{"}, "payload_json"),
    ("run_at with delay_s", {"run_at": {"seconds": 2_000_000_000}, "delay_s": 5.0}, "delay_s"),
    ("bad idempotency key", {"idempotency_key": "two words"}, "idempotency_key"),
    ("negative timeout", {"timeout_s": -1.0}, "timeout_s"),
    ("lease too short", {"lease_ttl_s": 0.1}, "lease_ttl_s"),
    ("NaN delay", {"delay_s": math.nan}, "delay_s"),
    ("backoff factor", {"retry_policy": {"factor": 0.0}}, "retry_policy.factor"),
]


@pytest.mark.parametrize(
    ("fields", "field"), [c[1:] for c in BAD_REQUESTS], ids=[c[0] for c in BAD_REQUESTS]
)
def test_invalid_submit_is_invalid_argument_and_writes_nothing(
    client: Client, raw: redis.Redis, fields: dict[str, Any], field: str
) -> None:
    before = snapshot(raw)
    with pytest.raises(InvalidArgument) as caught:
        client.submit(request(**fields))
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.field == field
    assert snapshot(raw) == before


def test_oversized_payload_is_resource_exhausted_and_writes_nothing(
    client: Client, raw: redis.Redis
) -> None:
    client.submit_job("warmup", {})
    before = snapshot(raw)
    with pytest.raises(LimitExceeded) as caught:
        client.submit_job("email", {"blob": "x" * PAYLOAD_LIMIT})
    assert caught.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert caught.value.field == "payload_json"
    assert snapshot(raw) == before


def test_batch_with_one_bad_job_writes_nothing(client: Client, raw: redis.Redis) -> None:
    before = snapshot(raw)
    batch = [request(), request(type="bad type"), request()]
    with pytest.raises(InvalidArgument) as caught:
        client.submit_jobs(batch)
    assert caught.value.field == "jobs[1].type"
    assert snapshot(raw) == before == (0, set())


def test_batch_with_one_oversized_payload_writes_nothing(client: Client, raw: redis.Redis) -> None:
    big = '{"blob": "' + "x" * PAYLOAD_LIMIT + '"}'
    with pytest.raises(LimitExceeded) as caught:
        client.submit_jobs([request(), request(), request(payload_json=big)])
    assert caught.value.field == "jobs[2].payload_json"
    assert snapshot(raw) == (0, set())


def test_batch_over_the_batch_limit_or_empty_is_refused(client: Client, raw: redis.Redis) -> None:
    with pytest.raises(LimitExceeded) as too_many:
        client.submit_jobs([request() for _ in range(6)])
    assert too_many.value.field == "jobs"
    with pytest.raises(InvalidArgument) as empty:
        client.submit_jobs([])
    assert empty.value.field == "jobs"
    assert snapshot(raw) == (0, set())


def test_valid_batch_writes_every_job(client: Client, raw: redis.Redis) -> None:
    ids = client.submit_jobs([request(), request(priority=job_pb2.PRIORITY_HIGH), request()])
    assert len(set(ids)) == 3
    assert sorted(k.rsplit(":", 1)[1] for k in job_keys(raw)) == sorted(ids)


def test_repeated_idempotency_key_returns_the_first_job(client: Client, raw: redis.Redis) -> None:
    first = client.submit(request(idempotency_key="order-42", payload_json='{"n": 1}'))
    again = client.submit(request(idempotency_key="order-42", payload_json='{"n": 2}'))
    assert not first.duplicate
    assert again.duplicate and again.job_id == first.job_id
    assert again.state is JobState.ENQUEUED
    assert job_keys(raw) == [KEYS.job(first.job_id)]
    assert raw.hget(KEYS.job(first.job_id), "payload") == '{"n": 1}'
    assert raw.lrange(KEYS.ready("normal", "email"), 0, -1) == [first.job_id]
    other = client.submit(request(idempotency_key="order-43"))
    assert not other.duplicate and other.job_id != first.job_id


def test_idempotency_key_dedupes_within_one_batch(client: Client, raw: redis.Redis) -> None:
    batch = job_service_pb2.SubmitJobsRequest(
        jobs=[request(idempotency_key="k1"), request(idempotency_key="k1"), request()]
    )
    results = client.call(client.jobs.SubmitJobs, batch).results
    assert [r.duplicate for r in results] == [False, True, False]
    assert results[0].job_id == results[1].job_id != results[2].job_id
    assert len(job_keys(raw)) == 2
    assert len(raw.lrange(KEYS.ready("normal", "email"), 0, -1)) == 2
