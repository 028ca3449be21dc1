"""Moves due scheduled and retrying jobs to their ready queues."""

from __future__ import annotations

from gopher_server.components.base import PeriodicComponent
from gopher_server.store.store import Store

# Jobs promoted per script call: small enough that dispatch interleaves with a large
# due backlog, large enough to drain 100k due jobs in about a second.
BATCH = 1000


class Promoter(PeriodicComponent):
    """Every broker runs one; the script is atomic, so replicas never double-promote."""

    name = "promoter"

    def __init__(self, store: Store, interval_s: float) -> None:
        super().__init__(interval_s)
        self.store = store
        self.promoted = 0

    async def _tick(self) -> bool:
        moved = await self.store.promote_due(BATCH)
        self.promoted += moved
        return moved >= BATCH
