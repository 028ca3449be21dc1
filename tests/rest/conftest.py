"""Fixtures for the REST shim: the app over a real AsyncClient, driven through httpx."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from gopher_client import AsyncClient
from gopher_server.rest import create_app
from tests.support import BrokerThread

# State-changing calls must declare JSON (gopher_server.rest.guard), body or not.
JSON = {"content-type": "application/json"}


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
async def offline() -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client for the shim over a broker address where nothing answers.

    Requests the shim refuses itself never reach the broker, so they need none; the rest
    answer 503.
    """
    client = AsyncClient(f"127.0.0.1:{_closed_port()}", timeout_s=5.0)
    transport = httpx.ASGITransport(app=create_app(client, max_body_bytes=4096))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://rest.test", headers=JSON
    ) as http:
        yield http
    await client.close()


@pytest.fixture
async def gopher(broker: BrokerThread) -> AsyncIterator[AsyncClient]:
    """An SDK client of the test broker, for setting up and checking state."""
    client = AsyncClient(broker.address, timeout_s=10.0)
    yield client
    await client.close()


@pytest.fixture
async def rest(gopher: AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client for the shim in this process, over a real broker on a flushed Redis."""
    transport = httpx.ASGITransport(app=create_app(gopher))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://rest.test", headers=JSON
    ) as http:
        yield http
