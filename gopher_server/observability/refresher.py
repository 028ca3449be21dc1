"""Keeps the metrics' queue snapshot fresh, so scrapes never wait on Redis."""

from __future__ import annotations

from gopher_server.components.base import PeriodicComponent
from gopher_server.observability.metrics import QueueCollector
from gopher_server.store import admin
from gopher_server.store.store import Store


class StatsRefresher(PeriodicComponent):
    """Reads queue stats every interval into the collector's snapshot."""

    name = "stats-refresher"

    def __init__(self, store: Store, collector: QueueCollector, interval_s: float = 2.0) -> None:
        super().__init__(interval_s)
        self.store = store
        self.collector = collector

    async def _tick(self) -> bool:
        self.collector.snapshot = await admin.queue_stats(self.store)
        return False
