"""The caller's Authorization header reaches the broker as gRPC call metadata.

The first tests put a real gRPC server that records each call's metadata behind the
shim, to assert exactly what crossed the wire; the last runs against a broker that
requires tokens and lets it judge them.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import httpx
import pytest
from gopher.v1 import admin_service_pb2 as admin_pb
from gopher.v1 import admin_service_pb2_grpc

from gopher_client import AsyncClient
from gopher_server.rest import create_app
from tests.support import BrokerThread


class MetadataRecorder(admin_service_pb2_grpc.AdminServiceServicer):
    """Answers ListWorkers with no workers, keeping each call's metadata."""

    def __init__(self) -> None:
        self.calls: list[list[tuple[str, str]]] = []

    async def ListWorkers(
        self, request: admin_pb.ListWorkersRequest, context: Any
    ) -> admin_pb.ListWorkersResponse:
        self.calls.append(
            [(k, v) for k, v in context.invocation_metadata() if k == "authorization"]
        )
        return admin_pb.ListWorkersResponse()


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[MetadataRecorder, str]]:
    server = grpc.aio.server()
    servicer = MetadataRecorder()
    admin_service_pb2_grpc.add_AdminServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield servicer, f"127.0.0.1:{port}"
    await server.stop(None)


async def _get_workers(address: str, token: str | None, headers: dict[str, Any]) -> int:
    client = AsyncClient(address, token=token)
    transport = httpx.ASGITransport(app=create_app(client))
    async with httpx.AsyncClient(transport=transport, base_url="http://rest.test") as http:
        response = await http.get("/api/workers", headers=headers)
    await client.close()
    return response.status_code


async def test_the_callers_header_replaces_the_shims_token(
    recorder: tuple[MetadataRecorder, str],
) -> None:
    servicer, address = recorder
    assert await _get_workers(address, "shim-token", {"Authorization": "Bearer user-token"}) == 200
    assert servicer.calls == [[("authorization", "Bearer user-token")]]


async def test_without_a_header_the_shims_own_token_is_sent(
    recorder: tuple[MetadataRecorder, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOPHER_TOKEN", raising=False)  # the client's default token
    servicer, address = recorder
    assert await _get_workers(address, "shim-token", {}) == 200
    assert await _get_workers(address, None, {}) == 200
    assert servicer.calls == [[("authorization", "Bearer shim-token")], []]


async def test_a_header_grpc_cannot_carry_is_401_and_not_sent(
    recorder: tuple[MetadataRecorder, str],
) -> None:
    servicer, address = recorder
    status = await _get_workers(
        address, None, {"Authorization": "Bearer caf\xe9".encode("latin-1")}
    )
    assert status == 401
    assert servicer.calls == []


def _digest(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture
async def guarded(
    broker_factory: Callable[..., BrokerThread], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """The shim, holding no token of its own, over a broker that requires tokens."""
    monkeypatch.delenv("GOPHER_TOKEN", raising=False)
    tokens = f"app submit {_digest('app-secret')}; ops admin {_digest('ops-secret')}"
    broker = broker_factory(auth_tokens=tokens)
    client = AsyncClient(broker.address)
    transport = httpx.ASGITransport(app=create_app(client))
    async with httpx.AsyncClient(transport=transport, base_url="http://rest.test") as http:
        yield http
    await client.close()


async def test_the_broker_judges_the_forwarded_token(guarded: httpx.AsyncClient) -> None:
    submit = {"type": "email", "payload": {"to": "a@b.c"}}
    anonymous = await guarded.post("/api/jobs", json=submit)
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "unauthenticated")
    wrong = await guarded.post("/api/jobs", json=submit, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    app = {"Authorization": "Bearer app-secret"}
    assert (await guarded.post("/api/jobs", json=submit, headers=app)).status_code == 201
    forbidden = await guarded.get("/api/queues", headers=app)
    assert (forbidden.status_code, forbidden.json()["error"]["code"]) == (403, "permission_denied")
    ops = {"Authorization": "Bearer ops-secret"}
    stats = await guarded.get("/api/queues", headers=ops)
    assert stats.status_code == 200
    assert sum(queue["depth"] for queue in stats.json()["queues"]) == 1
