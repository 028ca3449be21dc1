"""The store suite runs over every way a broker reaches Redis: plain TCP (the
auto-pipelined connection), TLS and a unix socket (both redis-py's own path)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import redis
import redis.asyncio as aioredis

from gopher_server.store.connection import RedisTls, redis_client
from tests.conftest import RedisHandle
from tests.store.transports import TransportRedis, start_tls_redis, start_unix_redis

TRANSPORTS = ("tcp", "tls", "unix")


@pytest.fixture(scope="session")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TransportRedis]:
    """A TLS-only Redis requiring client certificates."""
    server = start_tls_redis(tmp_path_factory.mktemp("redis-tls"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def unix_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TransportRedis]:
    """A Redis on a unix socket only."""
    server = start_unix_redis(tmp_path_factory.mktemp("redis-unix"))
    yield server
    server.stop()


@pytest.fixture(params=TRANSPORTS)
def redis_transport(request: pytest.FixtureRequest, redis_handle: RedisHandle) -> str:
    """How this test reaches Redis; tests marked `tcp_only` skip the others."""
    if request.param != "tcp" and request.node.get_closest_marker("tcp_only"):
        pytest.skip("this test is about the plain TCP connection")
    return str(request.param)


@pytest.fixture
def redis_tls(request: pytest.FixtureRequest, redis_transport: str) -> RedisTls | None:
    """The certificates the test's Redis URL needs (None but for TLS)."""
    if redis_transport != "tls":
        return None
    server: TransportRedis = request.getfixturevalue("tls_redis")
    return server.tls


@pytest.fixture
def redis_url(
    request: pytest.FixtureRequest, redis_handle: RedisHandle, redis_transport: str
) -> str:
    """URL of an emptied Redis database, reached over this test's transport."""
    if redis_transport == "tcp":
        with redis.Redis.from_url(redis_handle.url) as client:
            client.flushdb()
        return redis_handle.url
    server: TransportRedis = request.getfixturevalue(f"{redis_transport}_redis")
    with server.sync_client() as client:
        client.flushdb()
    return server.url


@pytest.fixture
async def aredis(redis_url: str, redis_tls: RedisTls | None) -> AsyncIterator[aioredis.Redis]:
    """An asyncio client on the test database, made the way the broker makes its own."""
    client = redis_client(redis_url, redis_tls, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
def redis_settings(redis_tls: RedisTls | None) -> dict[str, object]:
    """Brokers started by store tests reach the TLS Redis with its certificates."""
    if redis_tls is None:
        return {}
    return {
        "redis_tls_ca_file": redis_tls.ca_file,
        "redis_tls_cert_file": redis_tls.cert_file,
        "redis_tls_key_file": redis_tls.key_file,
    }
