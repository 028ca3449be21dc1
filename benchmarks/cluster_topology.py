"""The Redis deployments the cluster benchmark compares: one standalone redis-server,
and Redis Clusters of 1, 2 or 3 masters (no replicas) from gopher_server's
EmbeddedCluster. Each gives the broker's URL and flags, and the nodes to measure."""

from __future__ import annotations

import contextlib
import re
from types import TracebackType
from typing import Self

import redis

from benchmarks import cluster_model
from benchmarks.procs import RedisServer
from benchmarks.redis_nodes import Node
from gopher_server.embedded_cluster import EmbeddedCluster
from gopher_server.store.partitions import Layout

CONTROL_TAG = "gopher"  # the namespace's control slot, {gopher} (design §4.6)
_TAG = re.compile(rb"\{([^}]+)\}")


def partition_tags(partitions: int) -> list[str]:
    """The broker's partition hash tags for P partitions (store/partitions.py)."""
    return list(Layout(CONTROL_TAG, partitions).tags)


class Topology:
    """A running deployment: `url` and `server_flags` for gopher-server, `nodes` to
    measure (the masters). A context manager that stops what it started."""

    name: str
    masters: int
    cluster: bool
    url: str
    server_flags: list[str]
    nodes: list[Node]

    def flush(self) -> None:
        """Empty every master (between runs on the same deployment)."""
        for node in self.nodes:
            with node.client() as c:
                c.flushall()
                with contextlib.suppress(redis.ResponseError):
                    c.memory_purge()

    def tags_per_node(self) -> dict[str, list[str]]:
        """The distinct hash tags each master holds keys of: the partitions (and the
        control tag) it actually served (SCAN; run after a drain, keys are retained)."""
        out: dict[str, list[str]] = {}
        for node in self.nodes:
            tags: set[str] = set()
            with node.client() as c:
                for key in c.scan_iter(count=5000):
                    match = _TAG.search(key)
                    if match:
                        tags.add(match.group(1).decode(errors="replace"))
            out[node.name] = sorted(tags)
        return out

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class Standalone(Topology):
    """One redis-server, no cluster mode: the baseline."""

    def __init__(self) -> None:
        self.server = RedisServer()
        self.server.start()
        assert self.server.proc is not None
        self.name = "standalone"
        self.masters = 1
        self.cluster = False
        self.url = self.server.url
        self.server_flags = []
        self.nodes = [Node("standalone", self.server.port, self.server.proc.pid)]

    def stop(self) -> None:
        self.server.stop()


class Cluster(Topology):
    """A Redis Cluster of `masters` masters with equal contiguous slot ranges, and the
    broker in cluster mode with `partitions` partitions."""

    def __init__(self, masters: int, partitions: int) -> None:
        self.embedded = EmbeddedCluster(masters=masters, replicas=0).start()
        self.partitions = partitions
        self.name = f"cluster-{masters}"
        self.masters = masters
        self.cluster = True
        self.url = self.embedded.seed_url
        self.server_flags = ["--redis-cluster", "--partitions", str(partitions)]
        self.nodes = [
            Node(f"m{i}:{n.port}", n.port, n.pid) for i, n in enumerate(self.embedded.nodes)
        ]

    def placement(self) -> dict[str, object]:
        """Partitions per master as the keys show them, and any other tags (the
        control slot's) by master."""
        known = set(partition_tags(self.partitions))
        seen = self.tags_per_node()
        control = cluster_model.tag_slot(CONTROL_TAG)
        holder = next(
            (
                n.name
                for n, e in zip(self.nodes, self.embedded.nodes, strict=True)
                if any(lo <= control <= hi for lo, hi in self.embedded.slots_of(e))
            ),
            "",
        )
        return {
            "control_node": holder,
            "partitions_per_node": {n: sum(t in known for t in tags) for n, tags in seen.items()},
            "other_tags": {n: [t for t in tags if t not in known][:5] for n, tags in seen.items()},
        }

    def flush(self) -> None:
        super().flush()
        self.embedded.wait_stable(10)

    def stop(self) -> None:
        self.embedded.stop()
