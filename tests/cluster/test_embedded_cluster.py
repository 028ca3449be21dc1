"""The local cluster fixture: formed correctly, usable by redis-py's cluster client,
fails over, and leaves nothing behind."""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest
import redis
from redis.asyncio.cluster import ClusterNode as AioClusterNode
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from gopher_server import embedded_cluster
from gopher_server.embedded_cluster import SLOTS, ClusterNode, EmbeddedCluster
from tests.cluster.conftest import NODE_TIMEOUT_MS
from tests.support import wait_until


def cluster_client(cluster: EmbeddedCluster) -> RedisCluster:
    """redis-py's asyncio cluster client, seeded from the cluster's seed URL."""
    hosts = cluster.seed_url.removeprefix("redis://").split(",")
    nodes = [AioClusterNode(h, int(p)) for h, p in (a.split(":") for a in hosts)]
    return RedisCluster(startup_nodes=nodes, decode_responses=True)


def tag_on(cluster: EmbeddedCluster, master: ClusterNode) -> str:
    """A hash tag whose slot `master` serves."""
    ranges = cluster.slots_of(master)
    return next(
        tag
        for tag in (f"{{t{i}}}" for i in range(100_000))
        if any(a <= key_slot(tag.encode()) <= b for a, b in ranges)
    )


def slots_view(node_client: redis.Redis) -> list[tuple[int, int, int]]:
    """CLUSTER SLOTS as (first, last, master port), sorted."""
    raw = node_client.execute_command("CLUSTER", "SLOTS")
    return sorted((int(r[0]), int(r[1]), int(r[2][1])) for r in raw)


def test_three_masters_serve_every_slot_and_agree(redis_cluster: EmbeddedCluster) -> None:
    views = []
    for node in redis_cluster.nodes:
        with node.client() as c:
            info = c.execute_command("CLUSTER", "INFO")
            assert "cluster_state:ok" in info
            assert f"cluster_slots_assigned:{SLOTS}" in info
            assert "cluster_size:3" in info and "cluster_known_nodes:3" in info
            views.append(slots_view(c))
    assert all(v == views[0] for v in views)
    assert sum(b - a + 1 for a, b, _ in views[0]) == SLOTS
    assert {port for _, _, port in views[0]} == {n.port for n in redis_cluster.nodes}
    assert [redis_cluster.role(n) for n in redis_cluster.nodes] == ["master"] * 3


async def test_cluster_client_writes_to_every_master(redis_cluster: EmbeddedCluster) -> None:
    client = cluster_client(redis_cluster)
    try:
        for master in redis_cluster.live_masters():
            key = f"gopher:{tag_on(redis_cluster, master)}:k"
            assert await client.set(key, master.address)
            assert await client.get(key) == master.address
            with master.client() as direct:  # it is stored on that master, not elsewhere
                assert direct.execute_command("GET", key) == master.address
    finally:
        await client.aclose()


def test_cluster_failover_swaps_roles(redis_cluster_with_replicas: EmbeddedCluster) -> None:
    cluster = redis_cluster_with_replicas
    replica = next(r for r in cluster.live_replicas() if cluster.master_of(r))
    old_master = cluster.master_of(replica)
    assert old_master is not None
    cluster.failover(replica)
    cluster.wait_stable(timeout_s=20)
    assert cluster.role(replica) == "master"
    assert cluster.role(old_master) == "replica"
    assert cluster.master_of(old_master) == replica


# Failure detection takes the node timeout, then the replica's election; an election
# that gets too few votes is retried only after 2-4 node timeouts (Redis's failover
# auth retry), so allow one retry and a margin for a loaded 2-core machine.
ELECTION_S = NODE_TIMEOUT_MS / 1000 * 6 + 10


async def test_sigkill_of_a_master_promotes_its_replica(
    redis_cluster_with_replicas: EmbeddedCluster,
) -> None:
    cluster = redis_cluster_with_replicas
    replica = next(r for r in cluster.live_replicas() if cluster.master_of(r))
    master = cluster.master_of(replica)
    assert master is not None
    key = f"gopher:{tag_on(cluster, master)}:survives"
    with master.client() as c:
        c.execute_command("SET", key, "1")
        assert c.execute_command("WAIT", 1, 5000) == 1  # on the replica before the kill
    cluster.kill(master, signal.SIGKILL)
    started = time.monotonic()
    wait_until(
        lambda: cluster.role(replica) == "master",
        timeout_s=ELECTION_S,
        what="the replica to take over",
    )
    took_s = time.monotonic() - started
    assert took_s >= NODE_TIMEOUT_MS / 1000 * 0.9  # it waited for failure detection
    cluster.wait_stable(timeout_s=20)
    client = cluster_client(cluster)
    try:
        assert await client.get(key) == "1"
        assert await client.set(key, "2")
    finally:
        await client.aclose()
    with replica.client() as direct:
        assert direct.execute_command("GET", key) == "2"


def test_sigstop_past_node_timeout_fails_over_and_sigcont_rejoins_as_replica(
    redis_cluster_with_replicas: EmbeddedCluster,
) -> None:
    cluster = redis_cluster_with_replicas
    replica = next(r for r in cluster.live_replicas() if cluster.master_of(r))
    master = cluster.master_of(replica)
    assert master is not None
    cluster.kill(master, signal.SIGSTOP)
    wait_until(
        lambda: cluster.role(replica) == "master",
        timeout_s=ELECTION_S,
        what="the replica to take over from the stopped master",
    )
    cluster.kill(master, signal.SIGCONT)
    # The old master wakes up believing it still owns its slots; stable means it has
    # accepted the newer configuration and follows its former replica.
    cluster.wait_stable(timeout_s=20)
    assert cluster.role(master) == "replica"
    assert cluster.master_of(master) == replica


def test_missing_binary_is_a_clear_error_and_leaves_nothing() -> None:
    cluster = EmbeddedCluster(masters=1, binary="/nonexistent/redis-server")
    with pytest.raises(FileNotFoundError, match="/nonexistent/redis-server"):
        cluster.start()
    assert cluster.nodes == [] and cluster.seed_url == "redis://"


def test_a_port_taken_after_it_was_chosen_is_retried_on_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    taken = embedded_cluster._free_cluster_port()
    choices = iter([taken])
    real = embedded_cluster._free_cluster_port
    # The first choice is a port somebody else binds between the check and the start.
    monkeypatch.setattr(embedded_cluster, "_free_cluster_port", lambda: next(choices, real()))
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", taken))
        squatter.listen()
        with EmbeddedCluster(masters=1, node_timeout_ms=NODE_TIMEOUT_MS) as cluster:
            assert cluster.nodes[0].port != taken
            with cluster.nodes[0].client() as c:
                assert "cluster_state:ok" in c.execute_command("CLUSTER", "INFO")


def test_stop_kills_every_node_by_pid_and_removes_dirs() -> None:
    cluster = EmbeddedCluster(
        masters=1, replicas=1, node_timeout_ms=NODE_TIMEOUT_MS, appendonly=True
    ).start()
    pids, dirs = cluster.pids, [n.data_dir for n in cluster.nodes]
    with cluster.nodes[0].client() as c:
        assert c.config_get("appendonly") == {"appendonly": "yes"}
    cluster.kill(cluster.nodes[1], signal.SIGSTOP)  # a stopped process must die too
    cluster.stop()
    cluster.stop()  # safe twice
    for pid in pids:
        try:
            os.kill(pid, 0)
            raise AssertionError(f"process {pid} still exists")
        except ProcessLookupError:
            pass
    assert not any(os.path.exists(d) for d in dirs)
