"""Hostile strings where they could reach a Redis key name: job types, worker ids,
schedule names and rate-limit types are refused unless they are plain names; job ids
and idempotency keys only ever address keys inside their own family; payloads are
stored as text and never evaluated. Nothing outside the addressed key changes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import pytest
import redis
from gopher.v1 import admin_service_pb2 as admin_pb
from gopher.v1 import job_service_pb2 as jobs_pb
from gopher.v1 import worker_service_pb2 as workers_pb

from gopher_client import Client, GopherError, InvalidArgument, JobState, NotFound
from gopher_server.store.keys import Keys
from gopher_server.validation import NAME_RE
from tests.security.messages import HOSTILE
from tests.support import BrokerThread

NOT_NAMES = [s for s in HOSTILE if not NAME_RE.match(s)]
KEYS = Keys()


@pytest.fixture
def client(broker: BrokerThread) -> Iterator[Client]:
    """An SDK client on a broker without auth."""
    with Client(broker.address) as sdk:
        yield sdk


def snapshot(url: str) -> dict[str, object]:
    """Every key with its content, to show that nothing changed."""
    with redis.Redis.from_url(url, decode_responses=True) as r:
        state: dict[str, object] = {}
        for key in r.keys("*"):
            kind = r.type(key)
            if kind == "hash":
                state[key] = r.hgetall(key)
            elif kind == "list":
                state[key] = r.lrange(key, 0, -1)
            elif kind == "set":
                state[key] = r.smembers(key)
            elif kind == "zset":
                state[key] = r.zrange(key, 0, -1)
            elif kind == "string":
                state[key] = r.get(key)
        return state


def _refused(call: Callable[[], object]) -> GopherError:
    with pytest.raises(GopherError) as refused:
        call()
    return refused.value


@pytest.mark.parametrize("hostile", NOT_NAMES)
def test_names_that_become_key_parts_are_refused(
    client: Client, redis_url: str, hostile: str
) -> None:
    client.submit_job("email")  # something to protect
    before = snapshot(redis_url)
    schedule = admin_pb.Schedule(name=hostile, cron="* * * * *", job=admin_pb.JobTemplate(type="t"))
    calls: dict[str, Callable[[], object]] = {
        "type": lambda: client.submit_job(hostile),
        "schedule": lambda: client.create_schedule(schedule),
        "rate limit": lambda: client.set_rate_limit(hostile, rate_per_s=1),
        "template type": lambda: client.create_schedule(
            admin_pb.Schedule(name="ok", cron="* * * * *", job=admin_pb.JobTemplate(type=hostile))
        ),
    }
    if hostile:  # an empty filter means "any type"
        calls["list filter"] = lambda: client.list_jobs(job_type=hostile)
    for what, call in calls.items():
        assert isinstance(_refused(call), InvalidArgument), what
    assert snapshot(redis_url) == before


@pytest.mark.parametrize("hostile", NOT_NAMES)
def test_worker_ids_and_types_of_a_stream_are_names(broker: BrokerThread, hostile: str) -> None:
    with grpc.insecure_channel(broker.address) as channel:
        stream = channel.unary_stream(
            "/gopher.v1.WorkerService/StreamJobs",
            workers_pb.StreamJobsRequest.SerializeToString,
            workers_pb.StreamJobsResponse.FromString,
        )
        for request in (
            workers_pb.StreamJobsRequest(worker_id=hostile, job_types=["t"], capacity=1),
            workers_pb.StreamJobsRequest(worker_id="w", job_types=[hostile], capacity=1),
        ):
            with pytest.raises(grpc.RpcError) as refused:
                list(stream(request, timeout=5))
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("hostile", [*HOSTILE, "*:*", KEYS.job("*"), KEYS.scheduled()])
def test_job_ids_only_address_jobs(client: Client, redis_url: str, hostile: str) -> None:
    job_id = client.submit_job("email")
    before = snapshot(redis_url)
    for call in (
        lambda: client.get_job(hostile),
        lambda: client.cancel_job(hostile),
        lambda: client.requeue_dead_job(hostile),
        lambda: list(client.watch_job(hostile, timeout_s=2)),
    ):
        assert isinstance(_refused(call), InvalidArgument | NotFound)
    acked = client.call(
        client.workers.AckJobs,
        workers_pb.AckJobsRequest(acks=[workers_pb.AckJobRequest(job_id=hostile, lease_token=1)]),
    )
    assert acked.outcomes[0].code != workers_pb.OUTCOME_CODE_OK
    assert snapshot(redis_url) == before
    assert client.get_job(job_id).state == JobState.ENQUEUED


@pytest.mark.parametrize(
    "key",
    [s for s in HOSTILE if s.isascii() and s.isprintable() and " " not in s and 0 < len(s) <= 256],
)
def test_idempotency_keys_stay_in_their_family(client: Client, redis_url: str, key: str) -> None:
    first = client.submit_job("email", idempotency_key=key)
    assert client.submit_job("email", idempotency_key=key) == first
    with redis.Redis.from_url(redis_url, decode_responses=True) as r:
        assert r.get(KEYS.idempotency(key)) == first
        created = {k for k in r.keys("*") if k.startswith(KEYS.tag + ":idem:")}
    assert created == {KEYS.idempotency(key)}


@pytest.mark.parametrize("key", ["", " spaced", "tab\t", "new\nline", "é", "x" * 257])
def test_idempotency_keys_outside_printable_ascii_are_refused(
    client: Client, redis_url: str, key: str
) -> None:
    before = snapshot(redis_url)
    if key:
        assert isinstance(
            _refused(lambda: client.submit_job("email", idempotency_key=key)), InvalidArgument
        )
    assert snapshot(redis_url) == before


def test_payloads_are_stored_as_text_and_never_evaluated(client: Client, redis_url: str) -> None:
    tricks = (
        '{"lua": "]]) redis.call(\'FLUSHALL\') --", "cjson": "\\u0000", '
        '"py": "__import__(\'os\').system(\'false\')", "$where": "1", "{gopher}": "*"}'
    )
    job_id = client.submit(jobs_pb.SubmitJobRequest(type="email", payload_json=tricks)).job_id
    assert client.get_job(job_id).payload_json == tricks  # byte for byte
    with redis.Redis.from_url(redis_url, decode_responses=True) as r:
        assert r.hget(KEYS.job(job_id), "payload") == tricks
        assert all(k.startswith(KEYS.tag + ":") for k in r.keys("*"))
