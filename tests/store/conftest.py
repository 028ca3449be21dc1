"""The store suite runs over every way a broker reaches Redis: plain TCP (the
auto-pipelined connection), TLS and a unix socket (both redis-py's own path), and over
partitioned namespaces: 4 partitions on one server ("parts") and 6 on a local Redis
Cluster of 3 masters ("cluster", scripts under `#!lua`, so a cross-slot access fails).
Every transport runs the scripts as the function library (FCALL) but "evalsha", plain
TCP with the EVALSHA form that servers before Redis 7 get."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import redis
import redis.asyncio as aioredis

from gopher_server.store.cluster import ClusterRoutes, ClusterScripts, cluster_client
from gopher_server.store.connection import RedisTls, redis_client
from gopher_server.store.partitions import Layout
from gopher_server.store.scripts import Scripts
from gopher_server.store.sharded_pubsub import ShardedPubSub
from gopher_server.store.store import Store, StoreSettings
from tests.conftest import FakeClock, RedisHandle, flushed_cluster
from tests.store.transports import TransportRedis, start_tls_redis, start_unix_redis

# "evalsha": plain TCP with the scripts run by EVALSHA, the form for servers before
# Redis 7 (every other transport runs them as the function library, FCALL).
TRANSPORTS = ("tcp", "tls", "unix", "parts", "cluster", "evalsha")
# Partitions of the partitioned transports.
PARTITIONS = {"parts": 4, "cluster": 6}


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
    if request.param in PARTITIONS and request.node.get_closest_marker("one_partition"):
        pytest.skip("this test reads one partition's keys directly")
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
    if redis_transport in ("tcp", "parts", "evalsha"):
        with redis.Redis.from_url(redis_handle.url) as client:
            client.flushdb()
        return redis_handle.url
    if redis_transport == "cluster":
        return flushed_cluster(request.getfixturevalue("session_cluster"))
    server: TransportRedis = request.getfixturevalue(f"{redis_transport}_redis")
    with server.sync_client() as client:
        client.flushdb()
    return server.url


@pytest.fixture
async def aredis(
    redis_url: str, redis_tls: RedisTls | None, redis_transport: str
) -> AsyncIterator[aioredis.Redis]:
    """An asyncio client on the test database, made the way the broker makes its own."""
    if redis_transport == "cluster":
        cluster = cluster_client(redis_url)
        await cluster.initialize()
        yield cluster  # type: ignore[misc]  # the same command methods
        await cluster.aclose()
        return
    client = redis_client(redis_url, redis_tls, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def make_store(
    aredis: aioredis.Redis, clock: FakeClock, redis_transport: str
) -> AsyncIterator[Callable[..., Store]]:
    """Makes stores on the test's Redis (partitioned for the partitioned transports),
    driven by the fake clock; closes their script connections after the test."""
    made: list[Store] = []
    count = PARTITIONS.get(redis_transport, 1)

    def make(settings: StoreSettings | None = None) -> Store:
        layout = Layout("gopher", count)
        if redis_transport == "cluster":
            routes = ClusterRoutes(aredis)  # type: ignore[arg-type]
            store = Store(
                aredis,
                clock,
                settings=settings or StoreSettings(),
                layout=layout,
                scripts=ClusterScripts(routes, durable=False),
                pubsub=lambda: ShardedPubSub(routes),
                cluster=True,
            )
        else:
            scripts = Scripts(aredis, functions=False) if redis_transport == "evalsha" else None
            store = Store(
                aredis, clock, settings=settings or StoreSettings(), layout=layout, scripts=scripts
            )
        made.append(store)
        return store

    yield make
    for store in made:
        await store.close()


@pytest.fixture
def redis_settings(redis_tls: RedisTls | None, redis_transport: str) -> dict[str, object]:
    """Brokers started by store tests reach the TLS Redis with its certificates, and
    the partitioned namespaces with their layout."""
    if redis_transport in PARTITIONS:
        cluster = {"redis_cluster": True} if redis_transport == "cluster" else {}
        return {"partitions": PARTITIONS[redis_transport], **cluster}
    if redis_tls is None:
        return {}
    return {
        "redis_tls_ca_file": redis_tls.ca_file,
        "redis_tls_cert_file": redis_tls.cert_file,
        "redis_tls_key_file": redis_tls.key_file,
    }
