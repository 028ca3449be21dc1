"""Shared fixtures: a real Redis for the whole session, flushed before every test.

Redis comes from, in order: $GOPHER_TEST_REDIS_URL; a testcontainers container when a
Docker daemon answers; `redis-server` on PATH or the embedded Valkey binary, started
on a free port.
"""

from __future__ import annotations

import contextlib
import gc
import os
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import pytest
import redis
import redis.asyncio as aioredis

from gopher_server.config import ServerConfig
from gopher_server.embedded_cluster import EmbeddedCluster
from gopher_server.embedded_redis import EmbeddedRedis, find_redis_binary
from gopher_server.store.keys import Keys
from gopher_server.store.store import Store, StoreSettings
from tests.support import BrokerThread


@dataclass
class RedisHandle:
    """The session's Redis: its URL, and the process when this session owns it."""

    url: str
    server: EmbeddedRedis | None = None


def _try_container() -> tuple[str, object] | None:
    if not (os.environ.get("DOCKER_HOST") or os.path.exists("/var/run/docker.sock")):
        return None
    with warnings.catch_warnings():
        # The docker client leaves its socket to the garbage collector when the daemon
        # is missing; that must not turn into a test failure.
        warnings.simplefilter("ignore")
        try:
            from testcontainers.redis import RedisContainer

            container = RedisContainer("redis:7")
            container.start()
        except Exception:  # no docker package, no daemon, or no image: fall back
            return None
        finally:
            gc.collect()
    host = container.get_container_host_ip()
    port = container.get_exposed_port(6379)
    return f"redis://{host}:{port}/0", container


@pytest.fixture(scope="session")
def redis_handle() -> Iterator[RedisHandle]:
    """The session's Redis server."""
    url = os.environ.get("GOPHER_TEST_REDIS_URL")
    if url:
        yield RedisHandle(url)
        return
    if os.environ.get("GOPHER_TEST_DOCKER", "1") == "1" and (found := _try_container()):
        url, container = found
        yield RedisHandle(url)
        with contextlib.suppress(Exception):
            container.stop()  # type: ignore[attr-defined]
        return
    server = EmbeddedRedis(binary=find_redis_binary(prefer_path=True))
    server.start()
    yield RedisHandle(server.url, server)
    server.cleanup()


@pytest.fixture(scope="session")
def session_cluster() -> Iterator[EmbeddedCluster]:
    """A local Redis Cluster of 3 masters for the whole session (flushed per test by
    the suites that use it)."""
    from tests.cluster.conftest import start_cluster

    cluster = start_cluster(3, 0)
    yield cluster
    cluster.stop()


def flushed_cluster(cluster: EmbeddedCluster) -> str:
    """Empty every master of `cluster`; return its seed URL."""
    for node in cluster.live_masters():
        with node.client() as client:
            client.flushall()
    return cluster.seed_url


# Brokers on the cluster run the namespace in this many partitions (2 per master).
CLUSTER_PARTITIONS = 6


@pytest.fixture
def redis_url(redis_handle: RedisHandle) -> str:
    """URL of a Redis database emptied for this test."""
    with redis.Redis.from_url(redis_handle.url) as client:
        client.flushdb()
    return redis_handle.url


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start_ms: int = 1_800_000_000_000) -> None:
        self.ms = start_ms

    def now_ms(self) -> int:
        return self.ms

    def advance(self, ms: int) -> None:
        self.ms += ms


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock starting at a fixed instant."""
    return FakeClock()


@pytest.fixture
async def aredis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """An asyncio Redis client on the flushed test database."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def make_store(
    aredis: aioredis.Redis, clock: FakeClock
) -> AsyncIterator[Callable[..., Store]]:
    """Makes stores on the test database, driven by the fake clock, with the given
    settings; closes them (their script connections) after the test."""
    made: list[Store] = []

    def make(settings: StoreSettings | None = None) -> Store:
        made.append(Store(aredis, clock, Keys(), settings or StoreSettings()))
        return made[-1]

    yield make
    for store in made:
        await store.close()


@pytest.fixture
def store(make_store: Callable[..., Store]) -> Store:
    """A store on the test database, driven by the fake clock."""
    return make_store()


def broker_config(redis_url: str, **overrides: object) -> ServerConfig:
    """A test broker's config: free port, fast background loops."""
    values: dict[str, object] = {
        "redis_url": redis_url,
        "port": 0,
        "promote_interval_s": 0.05,
        "recover_interval_s": 0.1,
        "heartbeat_interval_s": 1.0,
        "shutdown_grace_s": 2.0,
        "redis_connect_attempts": 3,
    }
    values.update(overrides)
    return ServerConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def redis_settings() -> dict[str, object]:
    """Broker settings the test's Redis needs besides its URL (TLS files for the store
    suite's TLS runs, see tests/store/conftest.py)."""
    return {}


@pytest.fixture
def broker_factory(
    redis_url: str, redis_settings: dict[str, object]
) -> Iterator[Callable[..., BrokerThread]]:
    """Start brokers on the test's Redis: `broker_factory(**config_overrides)`."""
    started: list[BrokerThread] = []

    def make(**overrides: object) -> BrokerThread:
        clock = overrides.pop("clock", None)
        config = broker_config(redis_url, **{**redis_settings, **overrides})
        broker = BrokerThread(config, clock).start()
        started.append(broker)
        return broker

    yield make
    for broker in started:
        broker.stop()


@pytest.fixture
def broker(broker_factory: Callable[..., BrokerThread]) -> BrokerThread:
    """One running broker (gRPC on a free port, HTTP on a free port) on a flushed Redis."""
    return broker_factory(http_port=0)
