"""AdminService/GetClusterStatus: on a 3-master cluster every master holds its share of
the partitions and every partition's depth is what was put in it; on one server that
server holds them all. Each figure is checked against an independent source: the
nodes' own slot maps, and the partitions the job ids name."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from gopher.v1 import admin_service_pb2 as admin_pb
from gopher.v1 import worker_service_pb2 as worker_pb

from gopher_client import Client
from gopher_server.embedded_cluster import EmbeddedCluster
from gopher_server.store.partitions import Layout, slot_of
from tests.conftest import CLUSTER_PARTITIONS, broker_config, flushed_cluster
from tests.support import BrokerThread


@pytest.fixture
def cluster_broker(session_cluster: EmbeddedCluster) -> Iterator[BrokerThread]:
    """A broker on the flushed 3-master cluster, 6 partitions, with its HTTP port."""
    url = flushed_cluster(session_cluster)
    config = broker_config(url, redis_cluster=True, partitions=CLUSTER_PARTITIONS, http_port=0)
    broker = BrokerThread(config).start()
    yield broker
    broker.stop()


def status(address: str) -> admin_pb.GetClusterStatusResponse:
    with Client(address) as client:
        return client.call(client.admin.GetClusterStatus, admin_pb.GetClusterStatusRequest())


def hold_jobs(client: Client, job_type: str, count: int) -> Any:
    """A worker stream of `count` slots that never acks: `count` jobs stay active
    until the returned call is cancelled. Returns once it holds them all."""
    request = worker_pb.StreamJobsRequest(
        worker_id="holder", job_types=[job_type], capacity=count, hostname="h", pid=1
    )
    call = client.workers.StreamJobs(request)
    held = 0
    for response in call:
        held += len(response.jobs)
        if held >= count:
            return call
    raise AssertionError(f"the stream ended holding {held} of {count} jobs")


def test_every_master_holds_two_partitions_and_depths_add_up(
    cluster_broker: BrokerThread, session_cluster: EmbeddedCluster
) -> None:
    layout = Layout("gopher", CLUSTER_PARTITIONS)
    with Client(cluster_broker.address) as client:
        ready_ids = [client.submit_job("waiting", {"n": n}) for n in range(30)]
        later_ids = [client.submit_job("later", {"n": n}, delay_s=600) for n in range(7)]
        held_ids = [client.submit_job("held", {"n": n}) for n in range(4)]
        holder = hold_jobs(client, "held", 4)
        try:
            found = status(cluster_broker.address)
        finally:
            holder.cancel()

    assert found.cluster and found.partition_count == CLUSTER_PARTITIONS
    # Each master, by its own slot map, serves exactly the partitions reported for it.
    by_master = {m.address: list(m.partitions) for m in found.masters}
    expected = {
        node.address: [
            k
            for k, tag in enumerate(layout.tags)
            if any(lo <= slot_of(tag) <= hi for lo, hi in session_cluster.slots_of(node))
        ]
        for node in session_cluster.live_masters()
    }
    assert by_master == expected
    assert sorted(k for ks in by_master.values() for k in ks) == list(range(CLUSTER_PARTITIONS))
    assert [len(m.partitions) for m in found.masters] == [2, 2, 2]
    assert sum(m.slots for m in found.masters) == 16384
    assert all(m.slot_ranges == 1 and m.replicas == 0 for m in found.masters)
    for part in found.partitions:
        assert part.tag == layout.tags[part.index] and part.slot == slot_of(part.tag)
        assert part.index in by_master[part.master]

    # Depth per partition is where the ids say each job lives.
    def per_partition(ids: list[str]) -> list[int]:
        counts = Counter(layout.partition_of(i) for i in ids)
        return [counts.get(k, 0) for k in range(CLUSTER_PARTITIONS)]

    assert [p.ready for p in found.partitions] == per_partition(ready_ids)
    assert [p.scheduled for p in found.partitions] == per_partition(later_ids)
    assert [p.active for p in found.partitions] == per_partition(held_ids)
    assert sum(p.ready for p in found.partitions) == 30
    assert sum(p.retrying + p.dead for p in found.partitions) == 0

    loads = [p.ready + p.active for p in found.partitions]
    assert found.balance.mean_partitions_per_master == 2.0
    assert found.balance.max_partitions_per_master == 2
    assert found.balance.mean_partition_load == pytest.approx(34 / CLUSTER_PARTITIONS)
    assert found.balance.max_partition_load == max(loads)
    assert sum(m.load for m in found.masters) == 34


def test_rest_serves_the_same_status(cluster_broker: BrokerThread) -> None:
    with Client(cluster_broker.address) as client:
        client.submit_job("waiting")
    body = httpx.get(f"{cluster_broker.http_url}/api/cluster", timeout=10).json()
    assert body["cluster"] is True and body["partition_count"] == CLUSTER_PARTITIONS
    assert sum(p["ready"] for p in body["partitions"]) == 1
    assert [len(m["partitions"]) for m in body["masters"]] == [2, 2, 2]


@pytest.mark.parametrize("partitions", [1, 4])
def test_one_server_is_the_only_master_holding_every_partition(
    broker_factory: Callable[..., BrokerThread], redis_url: str, partitions: int
) -> None:
    broker = broker_factory(partitions=partitions)
    with Client(broker.address) as client:
        ids = [client.submit_job("waiting", {"n": n}) for n in range(9)]
        client.submit_job("later", delay_s=600)
    found = status(broker.address)
    host_port = redis_url.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
    assert not found.cluster and found.partition_count == partitions
    assert [(m.address, list(m.partitions)) for m in found.masters] == [
        (host_port, list(range(partitions)))
    ]
    assert found.masters[0].slot_ranges == 0 and found.masters[0].load == 9
    layout = Layout("gopher", partitions)
    counts = Counter(layout.partition_of(i) for i in ids)
    assert [p.ready for p in found.partitions] == [counts.get(k, 0) for k in range(partitions)]
    assert sum(p.scheduled for p in found.partitions) == 1
    assert {p.master for p in found.partitions} == {host_port}
    assert found.balance.max_partitions_per_master == partitions
