"""The lifecycle suite runs on one Redis and on a local Redis Cluster of 3 masters,
with the namespace in several partitions (brokers started with --redis-cluster)."""

from __future__ import annotations

import pytest
import redis

from tests.conftest import CLUSTER_PARTITIONS, RedisHandle, flushed_cluster


@pytest.fixture(params=["standalone", "cluster"])
def redis_layout(request: pytest.FixtureRequest) -> str:
    """Where this test's brokers keep the namespace."""
    if request.param == "cluster" and request.node.get_closest_marker("one_partition"):
        pytest.skip("this test reads one partition's keys directly")
    return str(request.param)


@pytest.fixture
def redis_url(request: pytest.FixtureRequest, redis_handle: RedisHandle, redis_layout: str) -> str:
    """An emptied Redis for the test: the session's server, or the session's cluster."""
    if redis_layout == "cluster":
        return flushed_cluster(request.getfixturevalue("session_cluster"))
    with redis.Redis.from_url(redis_handle.url) as client:
        client.flushdb()
    return redis_handle.url


@pytest.fixture
def redis_settings(redis_layout: str) -> dict[str, object]:
    """Broker settings for the test's Redis."""
    if redis_layout == "cluster":
        return {"redis_cluster": True, "partitions": CLUSTER_PARTITIONS}
    return {}


@pytest.fixture
def record_url(redis_handle: RedisHandle, redis_url: str) -> str:
    """Where worker processes record their runs (tests/lifecycle/handlers.py): always
    the session's plain Redis, flushed with the test's own."""
    if redis_url != redis_handle.url:
        with redis.Redis.from_url(redis_handle.url) as client:
            client.flushdb()
    return redis_handle.url


@pytest.fixture
def broker_args(redis_layout: str) -> list[str]:
    """Command-line flags broker processes need for the test's Redis."""
    if redis_layout == "cluster":
        return ["--redis-cluster", "--partitions", str(CLUSTER_PARTITIONS)]
    return []
