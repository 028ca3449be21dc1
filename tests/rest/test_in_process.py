"""The broker's HTTP port calls its services in process (gopher_server.inproc): it must
answer exactly as the shim does over a gRPC connection, refusals and errors included.

Each case is sent twice: to the shim over an SDK client of the broker's gRPC port (the
reference: what the shim answered before it ran in process, and what the standalone
shim still answers) and to the broker's own HTTP port. Status, body and the headers that
carry meaning must be the same.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import redis

from gopher_client import AsyncClient
from gopher_server.rest import create_app
from gopher_server.store.keys import Keys
from tests.observability.promql import scrape
from tests.security.conftest import token, token_lines
from tests.support import BrokerThread

JSON = {"content-type": "application/json"}
ONE_MIB = 1024 * 1024


def bearer(name: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token(name)}"}


# (name, method, path, headers, JSON body): refusals, bad input and errors of every kind.
CASES: list[tuple[str, str, str, dict[str, str], Any]] = [
    ("no token", "POST", "/api/jobs", {}, {"type": "email"}),
    ("unknown token", "POST", "/api/jobs", {"authorization": "Bearer nope"}, {"type": "email"}),
    ("not bearer", "POST", "/api/jobs", {"authorization": "Basic abc"}, {"type": "email"}),
    ("work role submits", "POST", "/api/jobs", bearer("worker"), {"type": "email"}),
    ("view role submits", "POST", "/api/jobs", bearer("viewer"), {"type": "email"}),
    ("submit role reads admin", "GET", "/api/workers", bearer("submitter"), None),
    ("work role reads a job", "GET", "/api/jobs/abc", bearer("worker"), None),
    ("empty type", "POST", "/api/jobs", bearer("submitter"), {"type": ""}),
    ("bad priority", "POST", "/api/jobs", bearer("submitter"), {"type": "e", "priority": "x"}),
    ("bad retries", "POST", "/api/jobs", bearer("submitter"), {"type": "e", "retries": -1}),
    (
        "payload too large",
        "POST",
        "/api/jobs",
        bearer("submitter"),
        {"type": "e", "payload": {"x": "a" * ONE_MIB}},
    ),
    (
        "bad batch item",
        "POST",
        "/api/jobs:batch",
        bearer("submitter"),
        {"jobs": [{"type": "ok"}, {"type": ""}]},
    ),
    ("empty batch", "POST", "/api/jobs:batch", bearer("submitter"), {"jobs": []}),
    ("unknown job", "GET", "/api/jobs/0123456789abcdef", bearer("viewer"), None),
    ("bad page size", "GET", "/api/jobs?page_size=5000", bearer("viewer"), None),
    ("cancel unknown", "POST", "/api/jobs/0123456789abcdef:cancel", bearer("submitter"), {}),
    ("admin reads workers", "GET", "/api/workers", bearer("operator"), None),
    ("view reads caller", "GET", "/api/caller", bearer("viewer"), None),
]
# Headers whose value is part of the answer (a rate limit's Retry-After, a 405's Allow).
MEANINGFUL_HEADERS = ("retry-after", "allow", "content-type")


@pytest.fixture
def secured(broker_factory: Callable[..., BrokerThread]) -> BrokerThread:
    return broker_factory(http_port=0, auth_tokens=token_lines())


@pytest.fixture
async def over_grpc(secured: BrokerThread) -> AsyncIterator[httpx.AsyncClient]:
    """The shim as a client of the broker's gRPC port: the reference answers."""
    client = AsyncClient(secured.address, timeout_s=10.0, token=None)
    transport = httpx.ASGITransport(app=create_app(client))
    async with httpx.AsyncClient(transport=transport, base_url="http://rest.test") as http:
        yield http
    await client.close()


@pytest.fixture
async def in_process(secured: BrokerThread) -> AsyncIterator[httpx.AsyncClient]:
    """The broker's own HTTP port."""
    async with httpx.AsyncClient(base_url=secured.http_url, timeout=10) as http:
        yield http


def _answer(response: httpx.Response) -> tuple[int, Any, dict[str, str]]:
    headers = {k: response.headers[k] for k in MEANINGFUL_HEADERS if k in response.headers}
    return response.status_code, response.json(), headers


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
async def test_the_http_port_answers_as_the_shim_over_grpc(
    case: tuple[str, str, str, dict[str, str], Any],
    over_grpc: httpx.AsyncClient,
    in_process: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GOPHER_TOKEN", raising=False)
    _, method, path, headers, body = case
    sent = {"headers": {**JSON, **headers}, "json": body} if body is not None else {}
    if body is None:
        sent = {"headers": headers}
    reference = _answer(await over_grpc.request(method, path, **sent))
    answer = _answer(await in_process.request(method, path, **sent))
    assert answer == reference
    assert reference[0] != 500, reference  # each case is a deliberate answer, not a crash


async def test_a_request_over_the_grpc_receive_limit_is_refused_alike(
    broker_factory: Callable[..., BrokerThread],
) -> None:
    broker = broker_factory(http_port=0, max_message_bytes=2000)
    body = {"type": "e", "payload": {"x": "a" * 3000}}
    client = AsyncClient(broker.address, timeout_s=10.0, token=None)
    transport = httpx.ASGITransport(app=create_app(client))
    async with httpx.AsyncClient(transport=transport, base_url="http://rest.test") as http:
        reference = _answer(await http.post("/api/jobs", json=body, headers=JSON))
    await client.close()
    async with httpx.AsyncClient(base_url=broker.http_url, timeout=10) as http:
        answer = _answer(await http.post("/api/jobs", json=body, headers=JSON))
    assert answer == reference
    assert reference[0] == 429 and reference[1]["error"]["code"] == "resource_exhausted"


async def test_refusals_name_the_token_and_role_like_grpc(in_process: httpx.AsyncClient) -> None:
    missing = await in_process.post("/api/jobs", json={"type": "e"}, headers=JSON)
    assert (missing.status_code, missing.json()) == (
        401,
        {
            "error": {
                "code": "unauthenticated",
                "message": "a bearer token is required (authorization: Bearer <token>)",
                "field": None,
            }
        },
    )
    headers = {**JSON, **bearer("viewer")}
    forbidden = await in_process.post("/api/jobs", json={"type": "e"}, headers=headers)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"] == {
        "code": "permission_denied",
        "message": "token 'viewer' (role view) may not call gopher.v1.JobService",
        "field": None,
    }


async def test_a_request_without_a_token_never_borrows_the_brokers_own(
    broker_factory: Callable[..., BrokerThread], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An operator's shell may export an admin token when it starts the broker; an HTTP
    # caller without one must still be refused, not handed that role.
    monkeypatch.setenv("GOPHER_TOKEN", token("operator"))
    broker = broker_factory(http_port=0, auth_tokens=token_lines())
    async with httpx.AsyncClient(base_url=broker.http_url, timeout=10) as http:
        anonymous = await http.get("/api/workers")
        admin = await http.get("/api/workers", headers=bearer("operator"))
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    assert admin.status_code == 200


def _metric(broker: BrokerThread, name: str, **labels: str) -> float:
    text = httpx.get(f"{broker.http_url}/metrics", timeout=10).text
    found = [v for n, got, v in scrape(text) if n == name and labels.items() <= got.items()]
    return sum(found)


async def test_in_process_calls_are_counted_as_grpc_calls(
    secured: BrokerThread, in_process: httpx.AsyncClient
) -> None:
    submits = ("gopher_grpc_requests_total", {"method": "SubmitJob", "code": "OK"})
    refused = ("gopher_grpc_requests_total", {"method": "SubmitJob", "code": "UNAUTHENTICATED"})
    missing = ("gopher_auth_failures_total", {"reason": "missing"})
    before = [_metric(secured, name, **labels) for name, labels in (submits, refused, missing)]
    ok = await in_process.post(
        "/api/jobs", json={"type": "e"}, headers={**JSON, **bearer("submitter")}
    )
    assert ok.status_code == 201, ok.text
    assert (await in_process.post("/api/jobs", json={"type": "e"}, headers=JSON)).status_code == 401
    after = [_metric(secured, name, **labels) for name, labels in (submits, refused, missing)]
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1]


async def test_an_answered_submit_is_already_in_redis(
    secured: BrokerThread, in_process: httpx.AsyncClient
) -> None:
    assert secured.broker is not None
    keys = Keys(secured.broker.config.prefix)
    headers = {**JSON, **bearer("submitter")}
    db = redis.Redis.from_url(secured.broker.config.redis_url)
    try:
        single = await in_process.post(
            "/api/jobs", json={"type": "e", "payload": {"n": 1}}, headers=headers
        )
        assert single.status_code == 201, single.text
        # Read at once, from another connection: no waiting, the answer came after the write.
        assert db.exists(keys.job(single.json()["job_id"])) == 1
        batch = await in_process.post(
            "/api/jobs:batch", json={"jobs": [{"type": "a"}, {"type": "b"}]}, headers=headers
        )
        assert batch.status_code == 201, batch.text
        ids = [job["job_id"] for job in batch.json()["results"]]
        assert len(ids) == 2 and all(db.exists(keys.job(job_id)) == 1 for job_id in ids)
        read = await in_process.get(f"/api/jobs/{ids[0]}", headers=bearer("viewer"))
        assert read.status_code == 200 and read.json()["type"] == "a"
    finally:
        db.close()


async def test_the_rate_limit_answers_429_with_retry_after(
    broker_factory: Callable[..., BrokerThread],
) -> None:
    broker = broker_factory(http_port=0, submit_rate_per_s=0.01, submit_burst=1)
    async with httpx.AsyncClient(base_url=broker.http_url, timeout=10, headers=JSON) as http:
        assert (await http.post("/api/jobs", json={"type": "e"})).status_code == 201
        limited = await http.post("/api/jobs", json={"type": "e"})
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "resource_exhausted"
    assert int(limited.headers["retry-after"]) >= 1


async def test_a_refusal_is_logged_with_the_http_callers_address_and_no_token(
    secured: BrokerThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gopher_server.auth")
    secret = "Bearer super-secret-wrong-token"
    async with httpx.AsyncClient(base_url=secured.http_url, timeout=10) as http:
        refused = await http.post(
            "/api/jobs", json={"type": "e"}, headers={**JSON, "authorization": secret}
        )
    assert refused.status_code == 401
    logged = "\n".join(r.getMessage() for r in caplog.records)
    # The peer is the HTTP client's own address, as a gRPC refusal names its caller.
    assert "auth refused (invalid): /gopher.v1.JobService/SubmitJob from ipv4:127.0.0.1:" in logged
    assert "super-secret" not in logged
