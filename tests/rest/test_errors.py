"""Every bad-input row of the issue against a real broker: the right status, a JSON body
naming the field, and nothing written. Plus the gRPC-to-HTTP status table."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import httpx
import pytest

from gopher_client import AsyncClient, ConnectionFailed, GopherError, RequestError
from gopher_server.rest import create_app
from gopher_server.rest._errors import HTTP_STATUS_BY_GRPC_CODE, from_gopher_error
from tests.support import BrokerThread

JSON = {"Content-Type": "application/json"}
BIG = "x" * 2_000


async def assert_nothing_written(rest: httpx.AsyncClient) -> None:
    assert (await rest.get("/api/jobs")).json()["jobs"] == []
    stats = (await rest.get("/api/queues")).json()
    assert all(queue["depth"] == 0 for queue in stats["queues"])
    assert stats["scheduled"] == 0


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b'{"type": "email", "payload": {', 400, None),  # malformed JSON
        (b'{"payload": {}}', 400, "type"),  # missing type (the broker says so)
        (b'{"type": "no spaces!"}', 400, "type"),  # bad type (the broker says so)
        (b'{"type": 42}', 400, "type"),
        (b'{"type": "email", "prio": "high"}', 400, "prio"),  # unknown field
        (b'{"type": "email", "priority": "urgent"}', 400, "priority"),
        (b'{"type": "email", "retries": -1}', 400, "retries"),  # the broker's range
        (b'{"type": "email", "retries": 101}', 400, "retries"),
        (b'{"type": "email", "retries": 100000000000}', 400, "retries"),  # beyond int32
        (b'{"type": "email", "payload": [1, 2]}', 400, "payload"),
        (b'{"type": "email", "payload": "text"}', 400, "payload"),
        (b'{"type": "email", "delay_s": 10, "run_at": "2030-01-01T00:00:00Z"}', 400, None),
        (b'{"type": "email", "payload": {"b": "' + b"y" * 5000 + b'"}}', 413, None),
    ],
)
async def test_bad_submits(
    tight: httpx.AsyncClient, body: bytes, status: int, field: str | None
) -> None:
    response = await tight.post("/api/jobs", content=body, headers=JSON)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    if field is not None:
        assert error["field"] == field
    assert error["message"]
    await assert_nothing_written(tight)


async def test_payload_over_the_broker_limit_is_413_naming_payload(
    tight: httpx.AsyncClient,
) -> None:
    # Under the shim's body limit (4096) but over the broker's payload limit (1000).
    response = await tight.post("/api/jobs", json={"type": "e", "payload": {"b": BIG}})
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "resource_exhausted",
        "message": response.json()["error"]["message"],
        "field": "payload",
    }
    batch = await tight.post(
        "/api/jobs:batch", json={"jobs": [{"type": "e", "payload": {"b": BIG}}]}
    )
    assert (batch.status_code, batch.json()["error"]["field"]) == (413, "jobs[0].payload")
    await assert_nothing_written(tight)


async def test_batch_over_the_broker_limit_is_413(tight: httpx.AsyncClient) -> None:
    response = await tight.post("/api/jobs:batch", json={"jobs": [{"type": "e"}] * 3})
    assert response.status_code == 413  # too big a body, not a rate
    assert response.json()["error"]["field"] == "jobs"
    await assert_nothing_written(tight)


async def test_transport_rows(tight: httpx.AsyncClient) -> None:
    wrong_type = await tight.post(
        "/api/jobs",
        content=b"type=email",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert wrong_type.status_code == 415
    wrong_method = await tight.patch("/api/jobs/abc", json={})
    assert (wrong_method.status_code, wrong_method.headers["allow"]) == (405, "GET, DELETE")
    assert (await tight.get("/api/jobs/8a4f5c9e-0000-4000-8000-000000000000")).status_code == 404
    await assert_nothing_written(tight)


@pytest.fixture
async def tight(broker_factory: Callable[..., BrokerThread]) -> AsyncIterator[httpx.AsyncClient]:
    """The shim (4 KiB body limit) over a broker with a 1000-byte payload limit, batch 2."""
    broker = broker_factory(max_payload_bytes=1000, max_batch=2)
    client = AsyncClient(broker.address)
    transport = httpx.ASGITransport(app=create_app(client, max_body_bytes=4096))
    async with httpx.AsyncClient(transport=transport, base_url="http://rest.test") as http:
        yield http
    await client.close()


@pytest.mark.parametrize(
    ("code", "field", "status"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, "type", 400),
        (grpc.StatusCode.NOT_FOUND, "", 404),
        (grpc.StatusCode.FAILED_PRECONDITION, "", 409),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "jobs", 413),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "type", 429),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "payload_json", 413),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "jobs[3].payload_json", 413),
        (grpc.StatusCode.UNAUTHENTICATED, "", 401),
        (grpc.StatusCode.PERMISSION_DENIED, "", 403),
        (grpc.StatusCode.INTERNAL, "", 500),
        (grpc.StatusCode.UNKNOWN, "", 500),
        (grpc.StatusCode.ALREADY_EXISTS, "", 500),
    ],
)
def test_status_table(code: grpc.StatusCode, field: str, status: int) -> None:
    error = from_gopher_error(RequestError(code, "why", field))
    assert (error.status, error.code, error.message) == (status, code.name.lower(), "why")
    assert error.field == (field.replace("_json", "") or None)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (ConnectionFailed("UNAVAILABLE: connection refused"), 503, "unavailable"),
        (ConnectionFailed("DEADLINE_EXCEEDED: too slow"), 504, "deadline_exceeded"),
        (GopherError("odd"), 500, "internal"),
    ],
)
def test_connection_rows(error: GopherError, status: int, code: str) -> None:
    mapped = from_gopher_error(error)
    assert (mapped.status, mapped.code) == (status, code)


def test_the_table_is_the_documented_one() -> None:
    expected: dict[str, Any] = {
        "INVALID_ARGUMENT": 400,
        "NOT_FOUND": 404,
        "FAILED_PRECONDITION": 409,
        "RESOURCE_EXHAUSTED": 429,
        "UNAUTHENTICATED": 401,
        "PERMISSION_DENIED": 403,
        "UNAVAILABLE": 503,
        "DEADLINE_EXCEEDED": 504,
    }
    assert expected == HTTP_STATUS_BY_GRPC_CODE
