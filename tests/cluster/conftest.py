"""Local Redis Clusters on loopback (gopher_server/embedded_cluster.py), one per module.

Skipped when no server binary can run a cluster here; under CI (`CI=true`) that is a
failure instead, so a broken CI image cannot silently drop the cluster tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from gopher_server.embedded_cluster import ClusterStartError, EmbeddedCluster

NODE_TIMEOUT_MS = 2000  # short, so failover tests are quick; production uses 15000


def start_cluster(masters: int, replicas: int, appendonly: bool = False) -> EmbeddedCluster:
    """A started cluster, or a skip (a failure under CI) with the reason it cannot start."""
    cluster = EmbeddedCluster(
        masters, replicas, node_timeout_ms=NODE_TIMEOUT_MS, appendonly=appendonly
    )
    try:
        return cluster.start(timeout_s=40)
    except (OSError, ClusterStartError) as exc:  # FileNotFoundError: no binary at all
        if os.environ.get("CI") == "true":
            pytest.fail(f"local Redis Cluster did not start: {exc}")
        pytest.skip(f"local Redis Cluster unavailable: {exc}")


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[EmbeddedCluster]:
    """3 masters, no replicas."""
    cluster = start_cluster(3, 0)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def redis_cluster_with_replicas() -> Iterator[EmbeddedCluster]:
    """3 masters with one replica each. Tests may fail over or kill nodes, so each test
    picks its nodes from the current roles, not from the start order."""
    cluster = start_cluster(3, 1)
    yield cluster
    cluster.stop()
