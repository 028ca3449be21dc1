"""Fuzzing with hostile input: random and malformed requests at every RPC (built from
the descriptors, and raw garbage bytes through a generic call), random requests at
every REST route. The broker must stay up, answer every call with a client-class
status (never INTERNAL or UNKNOWN), and create no job it did not acknowledge; no
input may reach a Redis key outside Gopher's namespace."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
import orjson
import pytest
import redis
from google.protobuf.descriptor import MethodDescriptor
from gopher.v1 import admin_service_pb2 as admin_pb
from gopher.v1 import job_service_pb2 as jobs_pb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gopher_client import Client
from gopher_server.store.keys import Keys
from tests.security.conftest import token
from tests.security.messages import JSON_VALUES, all_methods, path_of, request_of, text
from tests.support import BrokerThread

# Codes that would mean the broker failed rather than refused: never acceptable.
# (UNIMPLEMENTED is a clear refusal: a declared RPC without a servicer method yet.)
FAILURES = {
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.DATA_LOSS,
    grpc.StatusCode.UNAVAILABLE,
}
ADMIN = (("authorization", f"Bearer {token('operator')}"),)
METADATA = st.sampled_from([ADMIN, ADMIN, ADMIN, (), (("authorization", "Bearer x"),)])
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
METHODS = all_methods()


@dataclass
class Acknowledged:
    """Jobs the broker said it created, and job types that accepted schedules submit."""

    job_ids: set[str] = field(default_factory=set)
    scheduled_types: set[str] = field(default_factory=set)

    def note_grpc(self, method: MethodDescriptor, request: bytes, reply: bytes) -> None:
        """Remember what an OK call created."""
        if method.name == "SubmitJob":
            self.job_ids.add(jobs_pb.SubmitJobResponse.FromString(reply).job_id)
        elif method.name == "SubmitJobs":
            results = jobs_pb.SubmitJobsResponse.FromString(reply).results
            self.job_ids.update(r.job_id for r in results)
        elif method.name == "CreateSchedule":
            schedule = admin_pb.CreateScheduleRequest.FromString(request).schedule
            self.scheduled_types.add(schedule.job.type)


@pytest.fixture
def acknowledged(secured_broker: BrokerThread, redis_url: str) -> Iterator[Acknowledged]:
    """After the test: the broker still serves, and Redis holds only acknowledged jobs
    (or jobs of an accepted schedule), all under the namespace's hash tag."""
    seen = Acknowledged()
    yield seen
    with Client(secured_broker.address, token=token("operator")) as client:
        client.queue_stats()  # still up and answering
    keys = Keys()
    with redis.Redis.from_url(redis_url, decode_responses=True) as r:
        all_keys = set(r.keys("*"))
        outside = {k for k in all_keys if not k.startswith(keys.tag + ":")}
        assert not outside, f"keys outside the namespace: {sorted(outside)[:10]}"
        for key in r.scan_iter(keys.job("*")):
            job_id = key.removeprefix(keys.job(""))
            if job_id not in seen.job_ids:
                assert r.hget(key, "type") in seen.scheduled_types, f"unacknowledged job {key}"


def _call(
    channel: grpc.Channel, method: MethodDescriptor, payload: bytes, metadata: Any
) -> tuple[grpc.StatusCode, bytes]:
    """Send raw bytes to a method (identity serializers); returns (code, first reply)."""
    path = path_of(method)
    try:
        if method.server_streaming:
            stream = channel.unary_stream(path, None, None)(payload, timeout=0.3, metadata=metadata)
            replies = list(stream)
            return grpc.StatusCode.OK, replies[0] if replies else b""
        unary = channel.unary_unary(path, None, None)  # identity: bytes in, bytes out
        return grpc.StatusCode.OK, unary(payload, timeout=5, metadata=metadata)
    except grpc.RpcError as error:
        return error.code(), b""


@pytest.mark.timeout(240)
@FUZZ
@given(data=st.data())
def test_random_requests_at_every_rpc(
    secured_broker: BrokerThread, acknowledged: Acknowledged, data: st.DataObject
) -> None:
    method = data.draw(st.sampled_from(METHODS), "method")
    request = data.draw(request_of(method), "request")
    metadata = data.draw(METADATA, "metadata")
    with grpc.insecure_channel(secured_broker.address) as channel:
        payload = request.SerializeToString()
        code, reply = _call(channel, method, payload, metadata)
    assert code not in FAILURES, f"{path_of(method)} answered {code.name} to {request}"
    if code == grpc.StatusCode.OK and not method.server_streaming:
        acknowledged.note_grpc(method, payload, reply)


@pytest.mark.timeout(240)
@FUZZ
@given(method=st.sampled_from(METHODS), payload=st.binary(max_size=200), metadata=METADATA)
def test_garbage_bytes_at_every_rpc(
    secured_broker: BrokerThread,
    acknowledged: Acknowledged,
    method: MethodDescriptor,
    payload: bytes,
    metadata: Any,
) -> None:
    with grpc.insecure_channel(secured_broker.address) as channel:
        code, reply = _call(channel, method, payload, metadata)
    assert code not in FAILURES, f"{path_of(method)} answered {code.name} to {payload!r}"
    if code == grpc.StatusCode.OK and not method.server_streaming:
        acknowledged.note_grpc(method, payload, reply)


def test_garbage_that_does_not_decode_is_invalid_argument(secured_broker: BrokerThread) -> None:
    with grpc.insecure_channel(secured_broker.address) as channel:
        for method in METHODS:
            code, _ = _call(channel, method, b"\xff\xff\xff", ADMIN)
            assert code == grpc.StatusCode.INVALID_ARGUMENT, path_of(method)
            code, _ = _call(channel, method, b"\xff\xff\xff", ())
            assert code == grpc.StatusCode.UNAUTHENTICATED, path_of(method)  # auth first


Route = tuple[str, str, list[str]]


@pytest.fixture
def http(secured_broker: BrokerThread) -> Iterator[httpx.Client]:
    """One HTTP client on the broker's HTTP port for the whole test."""
    with httpx.Client(base_url=secured_broker.http_url, timeout=10) as client:
        yield client


@pytest.fixture
def routes(http: httpx.Client) -> list[Route]:
    """(HTTP method, path template, query parameter names) of every documented route."""
    document = http.get("/api/openapi.json").json()
    return [
        (verb.upper(), path, [p["name"] for p in op.get("parameters", []) if p["in"] == "query"])
        for path, operations in document["paths"].items()
        for verb, op in operations.items()
        if verb in ("get", "post", "put", "patch", "delete")
    ]


@pytest.mark.timeout(240)
@FUZZ
@given(data=st.data())
def test_random_requests_at_every_rest_route(
    http: httpx.Client, routes: list[Route], acknowledged: Acknowledged, data: st.DataObject
) -> None:
    verb, template, query_names = data.draw(st.sampled_from(routes), "route")
    path = template
    while "{" in path:  # fill each path parameter with hostile text, percent-encoded
        start, end = path.index("{"), path.index("}")
        path = (
            path[:start] + urllib.parse.quote(data.draw(text(), "param"), safe="") + path[end + 1 :]
        )
    query = data.draw(st.dictionaries(st.sampled_from(query_names or ["x"]), text(), max_size=3))
    body = data.draw(JSON_VALUES.map(orjson.dumps) | st.binary(max_size=100), "body")
    headers = {"content-type": "application/json"}
    if data.draw(st.booleans(), "authorized"):
        headers["authorization"] = f"Bearer {token('operator')}"
    response = http.request(verb, path, params=query, content=body, headers=headers)
    assert response.status_code < 500, f"{verb} {path} -> {response.status_code} {response.text}"
    if response.status_code >= 400 and "\n" not in urllib.parse.unquote(path):  # see below
        assert "error" in response.json(), response.text
    elif verb == "POST" and template == "/api/jobs":
        acknowledged.job_ids.add(response.json()["job_id"])
    elif verb == "POST" and template == "/api/jobs:batch":
        acknowledged.job_ids.update(r["job_id"] for r in response.json()["results"])
    elif verb == "POST" and template == "/api/schedules":
        acknowledged.scheduled_types.add(response.json().get("job", {}).get("type", ""))


def test_an_encoded_newline_in_a_path_gets_a_json_error(http: httpx.Client) -> None:
    response = http.get("/api/jobs/a%0Ab")
    # The shim answers (this broker wants a token, so: 401 in the shim's JSON shape),
    # not Starlette's plain-text 404.
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
