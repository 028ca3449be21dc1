"""Opening a namespace: connect to Redis (one server or a cluster), agree on the
partition layout with every other broker, and build the store over it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.cluster import RedisCluster

from gopher_server.clock import Clock
from gopher_server.store.cluster import ClusterRoutes, ClusterScripts, cluster_client
from gopher_server.store.connection import RedisTls, connect
from gopher_server.store.job_hash import PayloadChunking, read_chunking
from gopher_server.store.keys import Keys
from gopher_server.store.partitions import DEFAULT_CLUSTER_PARTITIONS, MAX_PARTITIONS, Layout
from gopher_server.store.scripts import Scripts
from gopher_server.store.sharded_pubsub import ShardedPubSub
from gopher_server.store.store import Store, StoreSettings

log = logging.getLogger(__name__)


class LayoutMismatch(ValueError):
    """The namespace was created with another partition count than the one asked."""


@dataclass(frozen=True)
class Target:
    """Where the namespace lives and how to reach it."""

    url: str
    prefix: str = "gopher"
    cluster: bool = False
    partitions: int = 0  # 0: the stored count, else the default for the topology
    durable: bool = False
    attempts: int = 10
    tls: RedisTls | None = None


# Keys whose presence means a namespace already holds data in the one-partition layout.
_LEGACY_SIGNS = ("ids", "leases", "scheduled", "retry", "dead", "finished", "workers")


async def resolve_layout(redis: Any, prefix: str, requested: int, default: int) -> Layout:
    """The namespace's layout: the stored partition count, or (first broker) the
    requested one or `default`, stored for every later broker. A request that
    disagrees with the stored count is refused: moving jobs between layouts is not
    something a start may do behind the operator's back. One partition is the layout
    of a namespace with no record, so a single-partition start writes nothing."""
    if not 0 <= requested <= MAX_PARTITIONS:
        raise LayoutMismatch(
            f"--partitions must be between 1 and {MAX_PARTITIONS}, got {requested}"
        )
    keys = Keys(prefix)
    key = keys.layout()
    wanted = requested or default
    raw = await redis.hget(key, "partitions")
    if raw is None and wanted == 1:
        return Layout(prefix, 1)
    if raw is None:
        legacy = [f"{keys.tag}:{name}" for name in _LEGACY_SIGNS]
        if any([await redis.exists(name) for name in legacy]):
            raise LayoutMismatch(
                f"namespace {prefix!r} already holds jobs in one partition; it cannot be "
                f"split into {wanted} (start with --partitions 1, or use a new --prefix)"
            )
        await redis.hsetnx(key, "partitions", wanted)
        raw = await redis.hget(key, "partitions")
    stored = int(raw)
    if requested and stored != requested:
        raise LayoutMismatch(
            f"namespace {prefix!r} has {stored} partition(s); --partitions {requested} differs "
            "(the count is fixed when a namespace is created)"
        )
    return Layout(prefix, stored)


async def open_store(
    target: Target, clock: Clock, settings: Callable[[PayloadChunking], StoreSettings]
) -> tuple[Any, Store]:
    """(Redis client, store) of the namespace at `target`."""
    if not target.cluster:
        client = await connect(target.url, target.attempts, target.tls)
        chunking = await read_chunking(client)
        layout = await resolve_layout(client, target.prefix, target.partitions, 1)
        store = Store(
            client,
            clock,
            settings=settings(chunking),
            layout=layout,
            scripts=Scripts(client, durable=target.durable),
        )
        return client, store
    cluster = await _connect_cluster(target)
    layout = await resolve_layout(
        cluster, target.prefix, target.partitions, DEFAULT_CLUSTER_PARTITIONS
    )
    routes = ClusterRoutes(cluster)
    store = Store(
        cluster,  # type: ignore[arg-type]  # the same command methods as Redis
        clock,
        settings=settings(await _cluster_chunking(cluster)),
        layout=layout,
        scripts=ClusterScripts(routes, target.durable),
        pubsub=lambda: ShardedPubSub(routes),
        cluster=True,
    )
    log.info(
        "redis cluster: %d master(s), namespace %r in %d partitions",
        len(cluster.get_primaries()),
        target.prefix,
        layout.count,
    )
    return cluster, store


async def _connect_cluster(target: Target) -> RedisCluster:
    """A cluster client whose slot map was read, trying `attempts` times."""
    delay = 0.1
    for attempt in range(1, target.attempts + 1):
        client = cluster_client(target.url, target.tls)
        try:
            await client.initialize()
            await client.ping()
            return client
        except (redis.exceptions.RedisError, OSError) as exc:
            await client.aclose()
            if attempt == target.attempts:
                raise ConnectionError(
                    f"redis cluster at {target.url} is unreachable after {target.attempts} "
                    f"attempts: {exc}"
                ) from None
            log.warning(
                "redis cluster at %s unreachable (attempt %d): %s", target.url, attempt, exc
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")


async def _cluster_chunking(cluster: RedisCluster) -> PayloadChunking:
    """The strictest hash encoding limits over the masters (CONFIG is per node)."""
    found: list[PayloadChunking] = []
    for node in cluster.get_primaries():
        kw = cluster.connection_kwargs
        client = aioredis.Redis(
            host=node.host,
            port=int(node.port),
            username=kw.get("username"),
            password=kw.get("password"),
            decode_responses=True,
        )
        try:
            found.append(await read_chunking(client))
        finally:
            await client.aclose()
    return min(found, key=lambda c: (c.chunk_bytes, c.max_chunks), default=PayloadChunking())
