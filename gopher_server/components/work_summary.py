"""The safety net under work hints (store/hints.py): every few seconds, read which job
types each partition has ready work of, add them to the hints, and wake the streams
of types that were not hinted. An announcement lost with a pub/sub connection, or a
hint cleared by a dispatch that raced a submit, then costs at most this interval."""

from __future__ import annotations

from collections.abc import Callable

from gopher_server.components.base import PeriodicComponent
from gopher_server.store.store import Store

# Three small SMEMBERS per partition per broker per interval.
INTERVAL_S = 2.0


class WorkSummary(PeriodicComponent):
    """One per broker of a partitioned namespace."""

    name = "work-summary"

    def __init__(
        self, store: Store, wake_type: Callable[[str], object], interval_s: float = INTERVAL_S
    ) -> None:
        super().__init__(interval_s)
        self.store = store
        self.wake_type = wake_type

    async def _tick(self) -> bool:
        for job_type in await self.store.refresh_hints():
            self.wake_type(job_type)
        return False
