"""`gopherctl cluster status` against a real broker: on a 3-master cluster, and on one
Redis server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from gopher_client import Client
from gopher_server.embedded_cluster import EmbeddedCluster
from gopher_server.store.partitions import Layout
from tests.cli.conftest import Run
from tests.conftest import CLUSTER_PARTITIONS, broker_config, flushed_cluster
from tests.support import BrokerThread

# The partitions table's columns, as the JSON names them.
PARTITION_COLUMNS = [
    "index",
    "tag",
    "slot",
    "master",
    "ready",
    "scheduled",
    "retrying",
    "active",
    "dead",
]


@pytest.fixture
def cluster_broker(session_cluster: EmbeddedCluster) -> Iterator[BrokerThread]:
    """A broker on the flushed 3-master cluster, in 6 partitions."""
    url = flushed_cluster(session_cluster)
    broker = BrokerThread(
        broker_config(url, redis_cluster=True, partitions=CLUSTER_PARTITIONS)
    ).start()
    yield broker
    broker.stop()


def read(gopherctl: Run, address: str) -> Any:
    result = gopherctl("cluster", "status", "-s", address, "-o", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_status_on_a_cluster_shows_each_master_its_partitions_and_the_depths(
    gopherctl: Run, cluster_broker: BrokerThread, session_cluster: EmbeddedCluster
) -> None:
    with Client(cluster_broker.address) as client:
        ids = [client.submit_job("shown", {"n": n}) for n in range(12)]
    found = read(gopherctl, cluster_broker.address)
    assert found["cluster"] is True and found["partition_count"] == CLUSTER_PARTITIONS
    masters = {m["address"]: m["partitions"] for m in found["masters"]}
    assert set(masters) == {node.address for node in session_cluster.live_masters()}
    assert [len(p) for p in masters.values()] == [2, 2, 2]
    layout = Layout("gopher", CLUSTER_PARTITIONS)
    expected = [sum(layout.partition_of(i) == k for i in ids) for k in range(CLUSTER_PARTITIONS)]
    assert [p["ready"] for p in found["partitions"]] == expected
    assert found["balance"]["max_partitions_per_master"] == 2
    assert found["balance"]["max_partition_load"] == max(expected)

    table = gopherctl("cluster", "status", "-s", cluster_broker.address)
    assert table.exit_code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "Redis Cluster: 6 partition(s) over 3 master(s)"
    assert lines[1].startswith("balance: partitions per master mean 2, max 2; ")
    for address, held in masters.items():
        row = next(line for line in lines if address in line and "," in line)
        cells = [cell.strip() for cell in row.split("│")[1:-1]]
        assert cells[0] == address and cells[4:6] == [", ".join(map(str, held)), "2"]
    for part in found["partitions"]:
        row = next(line for line in lines if f" {part['tag']} " in line)
        cells = [cell.strip() for cell in row.split("│")[1:-1]]
        assert cells == [str(part[name]) for name in PARTITION_COLUMNS]


def test_status_on_one_server(gopherctl: Run, broker: Any, client: Client) -> None:
    client.submit_job("shown")
    client.submit_job("later", delay_s=600)
    found = read(gopherctl, broker.address)
    assert found["cluster"] is False and found["partition_count"] == 1
    (master,) = found["masters"]
    assert master["partitions"] == [0] and master["load"] == 1
    assert (found["partitions"][0]["ready"], found["partitions"][0]["scheduled"]) == (1, 1)
    table = gopherctl("cluster", "status", "-s", broker.address).stdout
    assert table.splitlines()[0] == "one Redis server: 1 partition(s)"
    assert master["address"] in table


def test_status_reports_an_unreachable_broker_in_one_line(
    gopherctl: Run, dead_address: str
) -> None:
    result = gopherctl("cluster", "status", "-s", dead_address)
    assert result.exit_code == 1
    assert result.stderr == f"error: cannot reach broker at {dead_address}\n"
