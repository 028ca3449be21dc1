"""The hub's pub/sub on Redis Cluster: one sharded subscription per master.

Scripts announce with SPUBLISH on their partition's own channel, which reaches only
the shard owning that slot (a classic PUBLISH is copied to every node of the cluster,
whoever listens). The hub therefore holds one connection per master that owns one of
its channels and SSUBSCRIBEs each channel where its slot lives. When any of them is
lost (a failover, the slot moved) all are closed and the hub subscribes afresh from
the refreshed slot map, then wakes every stream, as after any reconnect. A master that
stops answering without closing its connection is dropped once the routes see its
replica promoted (store/cluster.py ClusterRoutes.on_replaced).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable

import redis.exceptions

from gopher_server.store.cluster import ClusterRoutes
from gopher_server.store.pubsub import OnMessage
from gopher_server.store.subscriber import Subscriber


class ShardedPubSub:
    """PubSub's interface (store/pubsub.py) over every master of a cluster."""

    def __init__(self, routes: ClusterRoutes) -> None:
        self._routes = routes
        self._subscribers: dict[tuple[str, int], Subscriber] = {}
        # A master that froze (SIGSTOP, a partition) keeps its connection open and
        # sends no `sunsubscribe` until it wakes: once the routes saw a replica take its
        # slots, drop the subscription there so `serve` ends and subscribes afresh.
        routes.on_replaced.append(self._replaced)

    def _replaced(self, address: tuple[str, int]) -> None:
        subscriber = self._subscribers.get(address)
        if subscriber is not None:
            subscriber.close()

    async def serve(
        self, channels: Iterable[str], on_message: OnMessage, on_live: Callable[[], None]
    ) -> None:
        """Subscribe to `channels` on the masters owning them, call `on_live` once all
        are confirmed, then deliver messages until one connection is lost (raises)."""
        await self._routes.refresh()
        by_node: dict[tuple[str, int], list[str]] = {}
        for channel in channels:
            by_node.setdefault(self._routes.node_of(channel), []).append(channel)
        try:
            for address, names in by_node.items():
                target = self._routes.target_of(address)
                self._subscribers[address] = await Subscriber.open(
                    target, names, on_message, sharded=True
                )
            on_live()
            waits = [asyncio.ensure_future(s.until_lost()) for s in self._subscribers.values()]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()
        finally:
            subscribers, self._subscribers = list(self._subscribers.values()), {}
            for subscriber in subscribers:
                subscriber.close()
        raise redis.exceptions.ConnectionError("sharded pub/sub connection closed")

    async def subscribe(self, channel: str) -> None:
        """Add a channel where its slot lives; with no connection to that master yet,
        every connection is dropped and the next `serve` includes it."""
        subscriber = self._subscribers.get(self._routes.node_of(channel))
        if subscriber is not None:
            subscriber.subscribe(channel)
            return
        for other in self._subscribers.values():
            with contextlib.suppress(Exception):
                other.close()

    async def unsubscribe(self, channel: str) -> None:
        """Drop a channel from its master's connection, if there is one."""
        subscriber = self._subscribers.get(self._routes.node_of(channel))
        if subscriber is not None:
            subscriber.unsubscribe(channel)
