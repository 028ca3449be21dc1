"""Where a namespace lives and how full each part is: the partitions each Redis master
serves, every partition's depth, and how even both are (`gopherctl cluster status`).

On a cluster one CLUSTER SHARDS call gives the masters, their slot ranges and their
replicas; each partition's master is the one serving its tag's slot in that same
reply, so the placement shown is one consistent snapshot. On one server the server is
the only master and holds every partition. Depths cost two pipelined round trips per
partition (the ready types, then their lengths), every partition concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gopher_server.store._text import text
from gopher_server.store.keys import PRIORITIES
from gopher_server.store.partitions import SLOTS, slot_of
from gopher_server.store.store import Partition, Store


@dataclass(frozen=True, slots=True)
class PartitionDepth:
    """One partition: its tag and slot, the master serving it, its job counts."""

    index: int
    tag: str
    slot: int
    master: str
    ready: int
    scheduled: int
    retrying: int
    active: int
    dead: int

    @property
    def load(self) -> int:
        """Jobs waiting to run or running: what its master's dispatch works through."""
        return self.ready + self.active


@dataclass(frozen=True, slots=True)
class MasterShare:
    """One master: the slots it serves, its replicas, the partitions it holds."""

    address: str
    slot_ranges: int
    slots: int
    partitions: tuple[int, ...]
    replicas: int
    load: int


@dataclass(frozen=True, slots=True)
class Balance:
    """How even the spread is: means and maxima per master and per partition."""

    mean_partitions_per_master: float
    max_partitions_per_master: int
    mean_partition_load: float
    max_partition_load: int


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    """The namespace's placement and depth at one moment."""

    cluster: bool
    masters: list[MasterShare]
    partitions: list[PartitionDepth]
    balance: Balance


@dataclass(frozen=True, slots=True)
class Shard:
    """A master as the topology reports it: address, slot ranges, live replicas."""

    address: str
    ranges: tuple[tuple[int, int], ...]
    replicas: int


async def cluster_status(store: Store) -> ClusterStatus:
    """Placement and depth of every partition of `store`'s namespace."""
    topology = cluster_shards(store.redis) if store.cluster else server_shard(store.redis)
    shards, counts = await asyncio.gather(
        topology, store.each_part(lambda part: partition_counts(store, part))
    )
    owners = _owners(shards, [slot_of(tag) for tag in store.layout.tags], store.cluster)
    parts = [
        PartitionDepth(k, tag, slot_of(tag), owners[k], *counts[k])
        for k, tag in enumerate(store.layout.tags)
    ]
    masters = [
        MasterShare(
            s.address,
            len(s.ranges),
            sum(last - first + 1 for first, last in s.ranges),
            tuple(p.index for p in parts if p.master == s.address),
            s.replicas,
            sum(p.load for p in parts if p.master == s.address),
        )
        for s in shards
    ]
    return ClusterStatus(store.cluster, masters, parts, balance(masters, parts))


def balance(masters: Sequence[MasterShare], parts: Sequence[PartitionDepth]) -> Balance:
    """Means and maxima of partitions per master and of load per partition."""
    held = [len(m.partitions) for m in masters]
    loads = [p.load for p in parts]
    return Balance(
        sum(held) / len(held) if held else 0.0,
        max(held, default=0),
        sum(loads) / len(loads) if loads else 0.0,
        max(loads, default=0),
    )


def _owners(shards: Sequence[Shard], slots: Sequence[int], cluster: bool) -> list[str]:
    """The address serving each slot ("" when no master does); on one server, it."""
    if not cluster:
        return [shards[0].address] * len(slots)
    ranges = [(first, last, s.address) for s in shards for first, last in s.ranges]
    return [next((a for lo, hi, a in ranges if lo <= slot <= hi), "") for slot in slots]


async def partition_counts(store: Store, part: Partition) -> tuple[int, int, int, int, int]:
    """(ready, scheduled, retrying, active, dead) of one partition: its sets' sizes and
    ready types in one pipeline, then the lengths of those types' lists in another."""
    keys, redis = part.keys, store.redis
    async with redis.pipeline(transaction=False) as pipe:
        for priority in PRIORITIES:
            pipe.smembers(keys.ready_types(priority))
        for key in (keys.scheduled(), keys.retrying(), keys.leases(), keys.dead()):
            pipe.zcard(key)
        replies = await pipe.execute()
    *types, scheduled, retrying, active, dead = replies
    lists = [keys.ready(p, t) for p, found in zip(PRIORITIES, types, strict=True) for t in found]
    ready = 0
    if lists:
        async with redis.pipeline(transaction=False) as pipe:
            for key in lists:
                pipe.llen(key)
            ready = sum(int(n) for n in await pipe.execute())
    return ready, int(scheduled), int(retrying), int(active), int(dead)


async def server_shard(redis: Any) -> list[Shard]:
    """One server as the only master: its address (never the URL's credentials) and
    the replicas connected to it."""
    kw = redis.connection_pool.connection_kwargs
    address = f"unix:{kw['path']}" if kw.get("path") else f"{kw.get('host')}:{kw.get('port')}"
    info = await redis.info("replication")
    return [Shard(address, (), int(info.get("connected_slaves", 0)))]


async def cluster_shards(cluster: Any) -> list[Shard]:
    """Every master of the cluster from one CLUSTER SHARDS reply, in slot order (a
    master serving no slot last)."""
    shards = [shard for raw in await cluster.cluster_shards() if (shard := parse_shard(raw))]
    return sorted(shards, key=lambda s: (s.ranges[0][0] if s.ranges else SLOTS, s.address))


def parse_shard(raw: Mapping[Any, Any]) -> Shard | None:
    """One CLUSTER SHARDS entry as a Shard; None when no master of it is up (a failed
    master whose replica took over shows as a shard of its own). Tolerates both reply
    shapes redis-py produces: slots as a flat list or as (first, last) pairs, and keys
    as text or bytes."""
    entry = {text(k): v for k, v in raw.items()}
    nodes = [{text(k): v for k, v in node.items()} for node in entry.get("nodes", [])]
    up = [n for n in nodes if text(n.get("health", "online")) != "failed"]
    master = next((n for n in up if text(n.get("role", "")) == "master"), None)
    if master is None:
        return None
    host = text(master.get("endpoint") or "")
    if host in ("", "?"):
        host = text(master.get("ip") or "")
    replicas = sum(text(n.get("role", "")) == "replica" for n in up)
    return Shard(f"{host}:{master.get('port')}", _ranges(entry.get("slots", [])), replicas)


def _ranges(slots: Iterable[Any]) -> tuple[tuple[int, int], ...]:
    flat: list[int] = []
    for item in slots:
        flat.extend(int(x) for x in (item if isinstance(item, list | tuple) else [item]))
    return tuple(sorted(zip(flat[::2], flat[1::2], strict=True)))
